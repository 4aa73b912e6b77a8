#pragma once

#include "adminserver.h"
#include "brokerstatistics.h"
#include "curveauthenticator.h"
#include "deadlinetimer.h"
#include "eventlog.h"
#include "heldreplies.h"
#include "mmiresponder.h"
#include "ratelimitedlog.h"
#include "serviceregistry.h"
#include "workersession.h"

#include <switchboard/broker/broker.h>
#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/mdp.h>
#include <switchboard/qtzmq/zmqsocketnotifier.h>

#include <QTimer>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>

namespace switchboard {

// The routing state of a Broker: its sockets (clients, workers, admin), the services with their
// queues and idle workers, the workers with the requests they hold, the statistics, and the
// timers for heartbeats, expiry and snapshots. Everything runs on the broker's thread; nothing
// here is locked.
class Broker::Router {
public:
    Router(Broker& owner, BrokerConfig config, zmq::context_t& context);
    ~Router();

    void start();
    void shutdown();
    QString reloadKeys();

    const BrokerConfig& config() const noexcept { return m_config; }
    BrokerCounters counters() const;
    bool isShutDown() const noexcept { return m_shutDown; }

    BrokerSnapshot snapshot() const;
    // The number of requests the worker held (re-dispatched or answered WorkerLost), or nullopt if
    // there is no such worker.
    std::optional<std::size_t> evictWorker(std::string_view identity);

    QStringList frontendEndpoints;
    QStringList backendEndpoints;
    QStringList adminEndpoints;

    // Workers purged for silence stay visible this long, at most kMaxExpiredWorkers of them.
    static constexpr std::chrono::seconds kExpiredWorkerRetention{60};
    static constexpr std::size_t kMaxExpiredWorkers = 100;

private:
    using Clock = std::chrono::steady_clock;

    // A worker purged for silence, as it looked then: kept for the operator, not for routing.
    struct ExpiredWorker {
        WorkerStats row;
        Clock::time_point lastHeard;
        Clock::time_point expiredAt;
    };

    std::unique_ptr<ZmqSocketNotifier> bindRouter(const QStringList& endpoints,
                                                  QStringList& resolved,
                                                  ZmqSocketNotifier::Handler handler,
                                                  CurveAuthenticator::Role role,
                                                  std::int64_t maxMessageSize);
    // The socket monitor of the backend: a worker whose connection drops is purged at once
    // instead of after the liveness.
    void watchBackend();
    void readBackendEvents();
    void onBackendEvent(const Frames& frames);
    // The Service of that name, created on demand and linked to its statistics.
    Service& serviceNamed(std::string_view name, Clock::time_point now);

    // Clients
    void onClientMessage(Frames& frames);
    void onMalformedClientMessage(Frames& frames, const ProtocolError& error);
    void answerMmi(Frames& frames, const mdp::ClientMessage& message);
    void acceptRequest(Service& service, Frames& frames, const mdp::ClientMessage& message,
                       const rpc::RequestOptions& options, Clock::time_point now);
    // `kind` says whether the error ends accepted work (always kept for a client that does not
    // read) or refuses a request at intake (kept only within the client's bound: past it, the
    // error is discarded and counted).
    void replyError(std::string_view clientIdentity, mdp::Version version, std::string_view service,
                    std::string_view requestId, std::string_view type, std::string message,
                    HeldReplies::Kind kind = HeldReplies::Kind::Answer);
    // Sends m_out (built for a client) on the frontend; holds it if the client is not reading.
    void deliverToClient(HeldReplies::Kind kind = HeldReplies::Kind::Answer);
    void holdReply(HeldReplies::Kind kind);
    // Sends held answers to the clients that read again; releases those of clients gone.
    void flushHeldReplies(Clock::time_point now);
    // Before each drain of the frontend: a client that read may have made room.
    void onFrontendWake();
    // False if the client holds too many unread answers to take a new request: it was refused
    // (QueueFull) or, once its refusals alone fill the bound, discarded.
    bool admitFromClient(const Frames& frames, const mdp::ClientMessage& message,
                         Clock::time_point now);
    void countReleased(const std::vector<HeldReplies::Released>& released, const char* why,
                       Clock::time_point now);

    // Workers
    void onWorkerMessage(Frames& frames);
    void registerWorker(Frames& frames, const mdp::WorkerMessage& message, Clock::time_point now);
    void onWorkerAnswer(WorkerSession& worker, Frames& frames, const mdp::WorkerMessage& message,
                        Clock::time_point now);
    void disconnectForViolation(WorkerSession& worker, std::string_view why);
    ZmqSocketNotifier::SendResult sendWorkerCommand(std::string_view identity, mdp::Version version,
                                                    mdp::WorkerCommand command);
    // Answers what the worker held with `errorType`, and forgets the worker.
    void removeWorker(WorkerSession& worker, std::string_view errorType,
                      const std::string& message);
    // The same for a worker that went silent or lost its connection: it stays visible for a
    // while as an Expired row.
    void expireWorker(WorkerSession& worker, const char* why);

    // Dispatch
    bool dispatch(WorkerSession& worker, Frames& frames, const mdp::ClientMessage& message,
                  const RequestTerms& terms, Clock::time_point now);
    void makeAvailable(WorkerSession& worker);
    // Puts an idempotent request of a lost worker back at the front of its queue, if it has
    // attempts and time left; false if it must be answered WorkerLost instead.
    bool requeue(Service& service, InFlightRequest& request, Clock::time_point now);
    // Hands re-queued requests to idle workers; called where no loop holds a worker.
    void dispatchRequeued();

    // Timers
    void onHeartbeatTick();
    void expireQueued();
    void answerExpired(Service& service, const QueuedRequest& request, Clock::time_point now);
    void sweepServices();
    void onSnapshotTick();

    // Statistics: a request ended in an error the broker generated.
    void countBrokerError(Service& service, MethodMeter* meter, Clock::time_point now);
    WorkerStats workerRow(const WorkerSession& worker, Clock::time_point now) const;

    void countMalformed(const ProtocolError& error, bool fromWorker, std::string_view peer,
                        std::string_view service);

    Broker& m_owner;
    BrokerConfig m_config;
    zmq::context_t& m_context;
    std::unique_ptr<ZmqSocketNotifier> m_frontend;
    std::unique_ptr<ZmqSocketNotifier> m_backend;
    std::unique_ptr<ZmqSocketNotifier> m_backendEvents; // PAIR on the backend's socket monitor
    std::unique_ptr<AdminServer> m_admin;
    // After the sockets it secures, so it is destroyed first: it stops watching them before
    // they close.
    std::unique_ptr<CurveAuthenticator> m_curve;
    // Before m_services: each Service unlinks from its meter when it is destroyed.
    BrokerStatistics m_statistics;
    ServiceRegistry m_services;
    StringMap<WorkerSession> m_workers;
    std::deque<ExpiredWorker> m_expiredWorkers;
    EventLog m_events;
    MmiResponder m_mmi{m_services};
    Frames m_out; // every outgoing message is built here, so sending allocates nothing
    QTimer m_heartbeatTimer;
    // Fires at the earliest deadline of a queued request.
    DeadlineTimer m_expiryTimer{&m_owner, [this] { expireQueued(); }};
    QTimer m_snapshotTimer;
    // While answers are held: a retry in case the edge that said a client read was consumed by
    // another call on the socket (libzmq does not say which pipe has room), and the way a client
    // that disconnected is noticed.
    DeadlineTimer m_heldRetryTimer{&m_owner, [this] { flushHeldReplies(Clock::now()); }};
    Clock::time_point m_nextHeldSweep;
    HeldReplies m_held;
    BrokerCounters m_counters;
    Clock::time_point m_startedAt;
    mutable std::uint64_t m_snapshotSequence = 0;
    std::size_t m_queued = 0;
    std::size_t m_queuedBytes = 0;
    std::size_t m_inFlight = 0;
    bool m_requeued = false; // dispatchRequeued() has work
    bool m_sweepNeeded = false;
    bool m_shutDown = false;
    RateLimitedLog m_malformedLog;
    RateLimitedLog m_workerLog;
    RateLimitedLog m_clientLog;
};

} // namespace switchboard
