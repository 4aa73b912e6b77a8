#pragma once

#include "adminserver.h"
#include "brokerreporter.h"
#include "curveauthenticator.h"
#include "deadlinetimer.h"
#include "metricslistener.h"
#include "publishedstate.h"

#include <switchboard/broker/broker.h>
#include <switchboard/protocol/socketmonitor.h>
#include <switchboard/qtzmq/zmqsocketgroup.h>
#include <switchboard/qtzmq/zmqsocketnotifier.h>
#include <switchboard/routing/outbox.h>
#include <switchboard/routing/routingcore.h>

#include <QTimer>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace switchboard {

// What a Broker is besides its routing rules: the sockets (clients, workers, admin) and their
// notifiers, binding and the CURVE policy, the backend's socket monitor, one timer that drives
// RoutingCore::tick(), and the snapshot timer. It is the core's Outbox; BrokerReporter is its
// observer. Everything runs on the broker's thread; nothing here is locked.
class Broker::Shell final : public Outbox {
public:
    Shell(Broker& owner, BrokerConfig config, zmq::context_t& context);
    ~Shell();

    void start();
    void shutdown();
    QString reloadKeys();

    const BrokerConfig& config() const noexcept { return m_config; }
    BrokerCounters counters() const;
    bool isShutDown() const noexcept { return m_core.isShutDown(); }
    BrokerSnapshot snapshot() const;
    std::optional<std::size_t> evictWorker(std::string_view identity);

    QStringList frontendEndpoints;
    QStringList backendEndpoints;
    QStringList adminEndpoints;
    QString metricsAddress;

    // Outbox
    Delivery sendToClient(Frames& frames) override;
    Delivery sendToWorker(Frames& frames) override;
    PeerConnection connectionOf(const Frames& frames) override;

private:
    using Clock = std::chrono::steady_clock;

    std::unique_ptr<ZmqSocketNotifier> bindRouter(const QStringList& endpoints,
                                                  QStringList& resolved,
                                                  ZmqSocketNotifier::Handler handler,
                                                  CurveAuthenticator::Role role,
                                                  std::int64_t maxMessageSize);
    void startCurve();
    // Everything start() does after the metrics listener is up.
    void bindAndServe();
    // Hands the HTTP listener's thread what /metrics serves.
    void publish(const BrokerSnapshot& snapshot);
    // The socket monitor of the backend: a worker whose connection drops is purged at once
    // instead of after the liveness.
    void watchBackend();
    // After every input: the core may have work due sooner than the timer is set for.
    void armTick();
    void onTick();
    void onSnapshotTick();

    Broker& m_owner;
    BrokerConfig m_config;
    zmq::context_t& m_context;
    // Before the sockets, which it must outlive. The frontend's sends happen while the backend
    // drains and the other way round: the group re-checks each once at the end of the drain
    // instead of posting a queued re-check per send.
    ZmqSocketGroup m_sockets;
    std::unique_ptr<ZmqSocketNotifier> m_frontend;
    std::unique_ptr<ZmqSocketNotifier> m_backend;
    std::unique_ptr<ZmqSocketNotifier> m_backendEvents; // PAIR on the backend's socket monitor
    SocketMonitor m_backendMonitor;
    std::unique_ptr<AdminServer> m_admin;
    // After the sockets it secures, so it is destroyed first: it stops watching them before
    // they close.
    std::unique_ptr<CurveAuthenticator> m_curve;
    // Before the core, which hands it the meters it holds until then.
    BrokerReporter m_reporter;
    RoutingCore m_core;
    DeadlineTimer m_tickTimer;
    QTimer m_snapshotTimer;
    // Beats while the broker's loop turns; /livez fails when it stops (PublishedState).
    QTimer m_heartbeatTimer;
    std::shared_ptr<PublishedState> m_published = std::make_shared<PublishedState>();
    Clock::time_point m_startedAt;
    mutable std::uint64_t m_snapshotSequence = 0;
    // Last, so it is stopped first: until then it may answer from m_published.
    std::unique_ptr<MetricsListener> m_metrics;
};

} // namespace switchboard
