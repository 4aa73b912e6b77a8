#include "brokershell.h"

#include "endpointpolicy.h"
#include "logging.h"
#include "snapshotbuilder.h"

#include <QMetaMethod>

#include <algorithm>
#include <string>

namespace switchboard {

namespace {

using namespace std::chrono_literals;

constexpr auto kShutdownLinger = 1000ms;
// Far below MetricsHttpServer::kStallLimit, so that only a stalled loop misses beats.
constexpr auto kHeartbeatInterval = 1000ms;

RoutingConfig routingConfigOf(const BrokerConfig& config)
{
    RoutingConfig routing;
    routing.heartbeatInterval = config.heartbeatInterval;
    routing.liveness = config.liveness;
    routing.maxQueuePerService = config.maxQueuePerService;
    routing.maxQueuedBytes = config.maxQueuedBytes;
    routing.maxAttempts = config.maxAttempts;
    routing.maxHeldReplyBytesPerClient = config.maxHeldReplyBytesPerClient;
    routing.maxHeldReplyBytes = config.maxHeldReplyBytes;
    routing.requestTimeout = config.requestTimeout;
    routing.statistics = config.statistics;
    return routing;
}

Delivery deliveryOf(ZmqSocketNotifier::SendResult result) noexcept
{
    switch (result) {
    case ZmqSocketNotifier::SendResult::Sent:
        return Delivery::Sent;
    case ZmqSocketNotifier::SendResult::WouldBlock:
        return Delivery::WouldBlock;
    case ZmqSocketNotifier::SendResult::Unroutable:
        break;
    }
    return Delivery::Gone;
}

} // namespace

Broker::Shell::Shell(Broker& owner, BrokerConfig config, zmq::context_t& context)
    : m_owner(owner)
    , m_config(std::move(config))
    , m_context(context)
    , m_reporter({m_config.statistics, m_config.socketHwm}, Clock::now())
    , m_core(routingConfigOf(m_config), *this, m_reporter, Clock::now())
    , m_tickTimer(&owner, [this] { onTick(); })
    , m_startedAt(Clock::now())
{
    m_snapshotTimer.setInterval(std::max(m_config.snapshotInterval, std::chrono::milliseconds(10)));
    QObject::connect(&m_snapshotTimer, &QTimer::timeout, &m_owner, [this] { onSnapshotTick(); });
    m_heartbeatTimer.setInterval(kHeartbeatInterval);
    QObject::connect(&m_heartbeatTimer, &QTimer::timeout, &m_owner,
                     [this] { m_published->beat(Clock::now()); });
}

Broker::Shell::~Shell() = default;

std::unique_ptr<ZmqSocketNotifier> Broker::Shell::bindRouter(const QStringList& endpoints,
                                                             QStringList& resolved,
                                                             ZmqSocketNotifier::Handler handler,
                                                             CurveAuthenticator::Role role,
                                                             std::int64_t maxMessageSize)
{
    zmq::socket_t socket(m_context, zmq::socket_type::router);
    if (m_curve) {
        // The backend's monitor is the shell's (watchBackend), which passes failed handshakes on.
        m_curve->secure(socket, role,
                        role == CurveAuthenticator::Role::Worker
                            ? CurveAuthenticator::Monitor::Caller
                            : CurveAuthenticator::Monitor::Own);
    }
    // Report unknown identities instead of dropping silently: a reply to a client that is gone
    // is counted, and a request to a worker that is gone goes to another worker.
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, maxMessageSize);
    socket.set(zmq::sockopt::sndhwm, m_config.socketHwm);
    socket.set(zmq::sockopt::rcvhwm, m_config.socketHwm);
    for (const auto& endpoint : endpoints) {
        try {
            socket.bind(endpoint.toStdString());
        } catch (const zmq::error_t& error) {
            throw BindError(endpoint, bindFailureReason(error));
        }
        resolved << QString::fromStdString(socket.get(zmq::sockopt::last_endpoint));
    }
    auto notifier = std::make_unique<ZmqSocketNotifier>(std::move(socket), std::move(handler));
    notifier->setMaxBatch(m_config.maxDrainBatch);
    notifier->setGroup(&m_sockets);
    return notifier;
}

void Broker::Shell::startCurve()
{
    if (!m_config.curveKeyFile.isEmpty() || !m_config.authorizedKeysDirectory.isEmpty()) {
        if (m_config.curveKeyFile.isEmpty() || m_config.authorizedKeysDirectory.isEmpty()) {
            throw Error("CURVE needs both the broker's key file and the authorized keys "
                        "directory (--curve-key and --authorized-keys)");
        }
        auto curve = std::make_unique<CurveAuthenticator>(m_context, m_config.curveKeyFile,
                                                          m_config.authorizedKeysDirectory);
        curve->start();
        m_curve = std::move(curve);
        return;
    }
    // Without CURVE anyone who reaches the admin endpoint can evict workers: only this machine
    // may.
    for (const QString& endpoint : m_config.adminEndpoints) {
        if (!isLocalEndpoint(endpoint)) {
            throw BindError(endpoint,
                            QStringLiteral("the admin endpoint may only listen beyond loopback "
                                           "with CURVE on (--curve-key and --authorized-keys, "
                                           "docs/SECURITY.md): anyone who reaches it can read "
                                           "the broker's state and evict workers"));
        }
    }
}

void Broker::Shell::start()
{
    if (!m_config.metricsAddress.isEmpty()) {
        // First, so that an orchestrator probing /readyz sees "starting" rather than nothing
        // while the endpoints are bound.
        m_published->beat(Clock::now());
        auto listener = std::make_unique<MetricsListener>(m_published, ConnectionLimits{});
        listener->start(m_config.metricsAddress, m_config.metricsBeyondLoopback);
        m_metrics = std::move(listener);
        metricsAddress = m_metrics->address();
        m_heartbeatTimer.start();
    }
    try {
        bindAndServe();
    } catch (...) {
        // Nothing stays bound on failure, the listener included.
        m_heartbeatTimer.stop();
        m_metrics.reset();
        metricsAddress.clear();
        throw;
    }
    if (m_metrics) {
        publish(snapshot());
        m_published->setReadiness(PublishedState::Readiness::Ready);
    }
}

void Broker::Shell::bindAndServe()
{
    using Role = CurveAuthenticator::Role;
    startCurve();
    QStringList frontends;
    QStringList backends;
    QStringList admins;
    try {
        auto frontend = bindRouter(
            m_config.frontendEndpoints, frontends,
            [this](Frames& frames) {
                m_core.onClientMessage(frames, Clock::now());
                armTick();
            },
            Role::Client, m_config.maxMessageBytes);
        auto backend = bindRouter(
            m_config.backendEndpoints, backends,
            [this](Frames& frames) {
                m_core.onWorkerMessage(frames, Clock::now());
                armTick();
            },
            Role::Worker, m_config.maxMessageBytes);
        std::unique_ptr<AdminServer> admin;
        if (!m_config.adminEndpoints.isEmpty()) {
            admin = std::make_unique<AdminServer>(
                AdminServer::Handlers{
                    [this] { return snapshot(); },
                    [this](std::string_view identity) { return evictWorker(identity); }},
                m_config.snapshotInterval);
            AdminServer* server = admin.get();
            server->attach(bindRouter(
                m_config.adminEndpoints, admins,
                [server](Frames& frames) { server->onMessage(frames); }, Role::Admin,
                AdminServer::kMaxMessageSize));
        }
        m_frontend = std::move(frontend);
        // A client that read makes room; libzmq says so by waking the frontend up.
        m_frontend->setBeforeDrain([this] {
            if (!m_core.held().empty()) { // the usual case: nothing to retry, not even the time
                m_core.onClientsReading(Clock::now());
                armTick();
            }
        });
        m_backend = std::move(backend);
        m_admin = std::move(admin);
        watchBackend();
    } catch (...) {
        // The monitors of sockets that are about to close go first.
        m_curve.reset();
        throw;
    }
    frontendEndpoints = frontends;
    backendEndpoints = backends;
    adminEndpoints = admins;
    m_startedAt = Clock::now();
    armTick();
    m_snapshotTimer.start();
    qCInfo(lcBroker).noquote() << "serving clients on" << frontends.join(QLatin1String(", "))
                               << "and workers on" << backends.join(QLatin1String(", "))
                               << (m_curve ? "with CURVE" : "without CURVE");
    if (!admins.isEmpty()) {
        qCInfo(lcBroker).noquote() << "admin endpoint on" << admins.join(QLatin1String(", "));
    }
    if (!m_curve) {
        for (const QString& endpoint : frontends + backends) {
            if (!isLocalEndpoint(endpoint)) {
                qCWarning(lcBroker).noquote()
                    << endpoint
                    << "can be reached from other machines without CURVE: anyone who can "
                       "connect may call any service or register as a worker and read requests "
                       "(docs/SECURITY.md)";
            }
        }
    }
}

void Broker::Shell::armTick()
{
    if (const auto next = m_core.nextDeadline(); next != Clock::time_point::max()) {
        m_tickTimer.arm(next);
    }
}

void Broker::Shell::onTick()
{
    if (!m_frontend || m_core.isShutDown()) {
        return;
    }
    if (const auto next = m_core.tick(Clock::now()); next != Clock::time_point::max()) {
        m_tickTimer.arm(next);
    }
}

void Broker::Shell::watchBackend()
{
    // libzmq keeps one monitor per socket: this one also watches handshakes for CURVE. For
    // DISCONNECTED the value is the connection's fd, which ZMQ_SRCFD gave each worker at READY
    // (connectionOf() reads pending events first, so the fd of a new connection cannot be
    // mistaken for that of an old one).
    m_backendMonitor.on(ZMQ_EVENT_DISCONNECTED, [this](const SocketEvent& event) {
        m_core.onConnectionClosed(static_cast<int>(event.value), Clock::now());
    });
    if (m_curve) {
        for (const int failed :
             {ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL}) {
            static_assert(
                CurveAuthenticator::kMonitorEvents ==
                (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL));
            m_backendMonitor.on(
                failed, [this](const SocketEvent& event) { m_curve->onMonitorEvent(event); });
        }
    }
    zmq::socket_t reader;
    try {
        reader = SocketMonitor::start(m_context, m_backend->socket(), m_backendMonitor.events());
    } catch (const zmq::error_t& error) {
        qCWarning(lcBroker) << "no socket monitor on the backend (" << error.what()
                            << "): dead workers are noticed by their missing heartbeats only";
        return;
    }
    m_backendEvents =
        std::make_unique<ZmqSocketNotifier>(std::move(reader), [this](Frames& frames) {
            m_backendMonitor.dispatch(frames);
            armTick();
        });
    // It never sends, but a closed connection can make the core send on the other two.
    m_backendEvents->setGroup(&m_sockets);
}

Delivery Broker::Shell::sendToClient(Frames& frames)
{
    return deliveryOf(m_frontend->send(frames));
}

Delivery Broker::Shell::sendToWorker(Frames& frames)
{
    return deliveryOf(m_backend->send(frames));
}

PeerConnection Broker::Shell::connectionOf(const Frames& frames)
{
    // Disconnects reported until now are of connections older than this one.
    if (m_backendEvents) {
        m_backendMonitor.drain(m_backendEvents->socket());
    }
    PeerConnection connection;
    // libzmq attaches the connection's metadata to every frame it receives; frame 0 is the
    // identity the ROUTER made up, so ask a frame that came from the peer.
    auto* frame = const_cast<zmq_msg_t*>(frames[1].handle());
    if (const char* address = zmq_msg_gets(frame, "Peer-Address")) {
        connection.address = address;
    }
    connection.id = zmq_msg_get(frame, ZMQ_SRCFD);
    return connection;
}

QString Broker::Shell::reloadKeys()
{
    return m_curve ? m_curve->reload() : QString();
}

BrokerCounters Broker::Shell::counters() const
{
    BrokerCounters counters = m_core.counters();
    if (m_admin) {
        counters.adminRequests = m_admin->requests();
        counters.adminMalformed = m_admin->malformed();
    }
    if (m_curve) {
        counters.curveRefused = m_curve->refused();
        counters.curveHandshakesFailed = m_curve->handshakesFailed();
    }
    return counters;
}

std::optional<std::size_t> Broker::Shell::evictWorker(std::string_view identity)
{
    auto held = m_core.evict(identity, Clock::now());
    armTick();
    return held;
}

BrokerSnapshot Broker::Shell::snapshot() const
{
    const SnapshotHeader header{++m_snapshotSequence, m_startedAt, frontendEndpoints,
                                backendEndpoints, adminEndpoints};
    return buildSnapshot(header, m_core, counters(), m_reporter, Clock::now());
}

void Broker::Shell::onSnapshotTick()
{
    const auto now = Clock::now();
    m_reporter.sweep(now);
    // Taken only for someone who reads it: a subscriber in this process, or a remote monitor
    // that polled recently.
    const bool local = m_owner.isSignalConnected(QMetaMethod::fromSignal(&Broker::snapshotReady));
    const bool remote = m_admin && m_admin->wantsSnapshots(now);
    if (!local && !remote && !m_metrics) {
        return;
    }
    const BrokerSnapshot taken = snapshot();
    if (m_metrics) {
        publish(taken);
    }
    if (remote) {
        m_admin->offer(taken, now);
    }
    if (local) {
        Q_EMIT m_owner.snapshotReady(taken);
    }
}

void Broker::Shell::publish(const BrokerSnapshot& snapshot)
{
    m_published->publish(std::make_shared<const PublishedState::Publication>(
        PublishedState::Publication{snapshot, counters()}));
}

void Broker::Shell::shutdown()
{
    m_published->setReadiness(PublishedState::Readiness::ShuttingDown);
    if (m_core.isShutDown() || !m_frontend) {
        m_core.shutdown(Clock::now());
        return;
    }
    m_tickTimer.stop();
    m_snapshotTimer.stop();
    m_frontend->setReading(false);
    m_backend->setReading(false);
    if (m_admin) {
        m_admin->setReading(false);
    }
    const BrokerCounters before = m_core.counters();
    qCInfo(lcBroker) << "shutting down: answering" << before.queuedRequests << "queued and"
                     << before.requestsInFlight << "in-flight requests, disconnecting"
                     << before.workers << "workers";
    m_core.shutdown(Clock::now());
    const BrokerCounters after = m_core.counters();
    if (const auto dropped = after.heldRepliesReleased - before.heldRepliesReleased; dropped) {
        qCWarning(lcBroker) << "dropped" << dropped << "answers held for clients that did not read";
    }
    if (m_curve) {
        m_curve->close();
    }
    // What was just sent still goes out while the context lives, for up to the linger time.
    if (m_backendEvents) {
        SocketMonitor::stop(m_backend->socket());
        m_backendEvents->close(0ms);
    }
    m_frontend->close(kShutdownLinger);
    m_backend->close(kShutdownLinger);
    if (m_admin) {
        m_admin->close(kShutdownLinger);
    }
    qCInfo(lcBroker) << "shut down";
}

} // namespace switchboard
