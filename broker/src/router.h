#pragma once

#include "mmiresponder.h"
#include "ratelimitedlog.h"
#include "serviceregistry.h"
#include "workersession.h"

#include <switchboard/broker/broker.h>
#include <switchboard/broker/zmqsocketnotifier.h>
#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/mdp.h>

#include <QTimer>

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

namespace switchboard {

// The routing state of a Broker: its two sockets, the services with their queues and idle
// workers, the workers with the requests they hold, and the timers for heartbeats and expiry.
// Everything runs on the broker's thread; nothing here is locked.
class Broker::Router {
public:
    Router(Broker& owner, BrokerConfig config, zmq::context_t& context);
    ~Router();

    void start();
    void shutdown();

    const BrokerConfig& config() const noexcept { return m_config; }
    BrokerCounters counters() const;
    bool isShutDown() const noexcept { return m_shutDown; }

    QStringList frontendEndpoints;
    QStringList backendEndpoints;

private:
    using Clock = std::chrono::steady_clock;

    std::unique_ptr<ZmqSocketNotifier> bindRouter(const QStringList& endpoints,
                                                  QStringList& resolved,
                                                  ZmqSocketNotifier::Handler handler);

    // Clients
    void onClientMessage(Frames& frames);
    void onMalformedClientMessage(Frames& frames, const ProtocolError& error);
    void answerMmi(Frames& frames, const mdp::ClientMessage& message);
    void acceptRequest(Service& service, Frames& frames, const mdp::ClientMessage& message);
    void replyError(std::string_view clientIdentity, mdp::Version version, std::string_view service,
                    std::string_view requestId, std::string_view type, std::string message,
                    std::string detail = {});
    // Sends m_out (built for a client) on the frontend, counting what could not be delivered.
    void deliverToClient();

    // Workers
    void onWorkerMessage(Frames& frames);
    void registerWorker(Frames& frames, const mdp::WorkerMessage& message);
    void onWorkerAnswer(WorkerSession& worker, Frames& frames, const mdp::WorkerMessage& message);
    void disconnectForViolation(WorkerSession& worker, std::string_view why);
    ZmqSocketNotifier::SendResult sendWorkerCommand(std::string_view identity, mdp::Version version,
                                                    mdp::WorkerCommand command);
    // Answers what the worker held with `errorType`, and forgets the worker.
    void removeWorker(WorkerSession& worker, std::string_view errorType,
                      const std::string& message);

    // Dispatch
    bool dispatch(WorkerSession& worker, Frames& frames, const mdp::ClientMessage& message);
    void makeAvailable(WorkerSession& worker);

    // Timers
    void onHeartbeatTick();
    void expireQueued();
    void sweepServices();

    void countMalformed(const ProtocolError& error, bool fromWorker, std::string_view peer);

    Broker& m_owner;
    BrokerConfig m_config;
    zmq::context_t& m_context;
    std::unique_ptr<ZmqSocketNotifier> m_frontend;
    std::unique_ptr<ZmqSocketNotifier> m_backend;
    ServiceRegistry m_services;
    StringMap<WorkerSession> m_workers;
    MmiResponder m_mmi{m_services};
    Frames m_out; // every outgoing message is built here, so sending allocates nothing
    QTimer m_heartbeatTimer;
    QTimer m_expiryTimer;
    BrokerCounters m_counters;
    std::size_t m_queued = 0;
    std::size_t m_inFlight = 0;
    bool m_sweepNeeded = false;
    bool m_shutDown = false;
    RateLimitedLog m_malformedLog;
    RateLimitedLog m_workerLog;
};

} // namespace switchboard
