#include "router.h"

#include "logging.h"
#include "peername.h"

#include <switchboard/protocol/socketmonitor.h>

#include <QDateTime>
#include <QMetaMethod>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <string>

namespace switchboard {

namespace {

using namespace std::chrono_literals;

constexpr auto kShutdownLinger = 1000ms;
// Answers held for clients that do not read are retried when the frontend wakes up, and at least
// this often.
constexpr auto kHeldRetryInterval = 50ms;
// The frontend wakes up thousands of times a second under load, and a sweep costs a send per
// client with answers held: at most one sweep this often, the timer catching up on a skipped one.
constexpr auto kHeldSweepSpacing = 1ms;

mdp::ClientCommand finalCommand(mdp::Version version) noexcept
{
    return version == mdp::Version::V01 ? mdp::ClientCommand::Reply : mdp::ClientCommand::Final;
}

// The first body frame is the request id of every request (docs/PROTOCOL.md), so even clients
// that do not use our envelope get errors they can correlate.
std::string_view requestIdOf(const Frames& frames, std::size_t bodyBegin) noexcept
{
    if (bodyBegin >= frames.size()) {
        return {};
    }
    const auto id = frameView(frames[bodyBegin]);
    return id.size() <= rpc::kMaxRequestIdSize ? id : std::string_view{};
}

// An error reply from a worker: status byte 0x01 after the request id (docs/PROTOCOL.md §6).
// Peeked, never decoded, so counting errors costs nothing.
bool isErrorReply(const Frames& frames, std::size_t bodyBegin) noexcept
{
    if (bodyBegin + 1 >= frames.size()) {
        return false;
    }
    const auto status = frameView(frames[bodyBegin + 1]);
    return status.size() == 1 && status[0] == '\x01';
}

std::int64_t millisecondsOf(std::chrono::steady_clock::duration duration) noexcept
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
}

QString bindFailureReason(const zmq::error_t& error)
{
    switch (error.num()) {
    case EADDRINUSE:
        return QStringLiteral("address already in use");
    case EINVAL:
        return QStringLiteral("malformed endpoint (expected e.g. tcp://127.0.0.1:5555, "
                              "ipc:///tmp/switchboard.sock or inproc://name)");
    case EPROTONOSUPPORT:
        return QStringLiteral("unsupported transport (use tcp, ipc or inproc)");
    case EADDRNOTAVAIL:
    case ENODEV:
        return QStringLiteral("no such local address");
    default:
        return QString::fromLocal8Bit(error.what());
    }
}

// Whether only this machine can reach an endpoint: ipc, inproc, and tcp on a loopback address.
bool isLocalEndpoint(const QString& endpoint)
{
    if (endpoint.startsWith(QLatin1String("ipc://")) ||
        endpoint.startsWith(QLatin1String("inproc://"))) {
        return true;
    }
    if (!endpoint.startsWith(QLatin1String("tcp://"))) {
        return false;
    }
    QString host = endpoint.mid(6);
    host = host.left(host.lastIndexOf(QLatin1Char(':')));
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']'))) {
        host = host.mid(1, host.size() - 2);
    }
    return host.startsWith(QLatin1String("127.")) || host == QLatin1String("::1") ||
           host == QLatin1String("localhost") || host == QLatin1String("lo");
}

// Logs one warning line if `log` admits it, saying how many similar lines it held back since.
template <typename Write>
void warnLimited(RateLimitedLog& log, Write&& write)
{
    std::uint64_t suppressed = 0;
    if (!lcBroker().isWarningEnabled() || !log.admit(suppressed)) {
        return;
    }
    // What qCWarning expands to, as a variable the caller can write to.
    QDebug line = QMessageLogger(QT_MESSAGELOG_FILE, QT_MESSAGELOG_LINE, QT_MESSAGELOG_FUNC,
                                 lcBroker().categoryName())
                      .warning();
    line.nospace().noquote();
    write(line);
    if (suppressed) {
        line << " (" << suppressed << " similar messages suppressed)";
    }
}

} // namespace

Broker::Router::Router(Broker& owner, BrokerConfig config, zmq::context_t& context)
    : m_owner(owner)
    , m_config(std::move(config))
    , m_context(context)
    , m_statistics(Clock::now())
    , m_held({m_config.maxHeldReplyBytesPerClient, m_config.maxHeldReplyBytes})
    , m_startedAt(Clock::now())
{
    m_heartbeatTimer.setInterval(m_config.heartbeatInterval);
    QObject::connect(&m_heartbeatTimer, &QTimer::timeout, &m_owner, [this] { onHeartbeatTick(); });
    m_snapshotTimer.setInterval(std::max(m_config.snapshotInterval, std::chrono::milliseconds(10)));
    QObject::connect(&m_snapshotTimer, &QTimer::timeout, &m_owner, [this] { onSnapshotTick(); });
}

Broker::Router::~Router() = default;

std::unique_ptr<ZmqSocketNotifier> Broker::Router::bindRouter(const QStringList& endpoints,
                                                              QStringList& resolved,
                                                              ZmqSocketNotifier::Handler handler,
                                                              CurveAuthenticator::Role role,
                                                              std::int64_t maxMessageSize)
{
    zmq::socket_t socket(m_context, zmq::socket_type::router);
    if (m_curve) {
        // The backend's monitor is the router's (watchBackend), which passes failed handshakes on.
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
    return notifier;
}

void Broker::Router::start()
{
    using Role = CurveAuthenticator::Role;
    std::unique_ptr<CurveAuthenticator> curve;
    if (!m_config.curveKeyFile.isEmpty() || !m_config.authorizedKeysDirectory.isEmpty()) {
        if (m_config.curveKeyFile.isEmpty() || m_config.authorizedKeysDirectory.isEmpty()) {
            throw Error("CURVE needs both the broker's key file and the authorized keys "
                        "directory (--curve-key and --authorized-keys)");
        }
        curve = std::make_unique<CurveAuthenticator>(m_context, m_config.curveKeyFile,
                                                     m_config.authorizedKeysDirectory);
        curve->start();
    } else {
        // Without CURVE anyone who reaches the admin endpoint can evict workers: only this
        // machine may.
        for (const QString& endpoint : m_config.adminEndpoints) {
            if (!isLocalEndpoint(endpoint)) {
                throw BindError(endpoint,
                                QStringLiteral("the admin endpoint may only listen beyond "
                                               "loopback with CURVE on (--curve-key and "
                                               "--authorized-keys, docs/SECURITY.md): anyone who "
                                               "reaches it can read the broker's state and evict "
                                               "workers"));
            }
        }
    }
    m_curve = std::move(curve);
    QStringList frontends;
    QStringList backends;
    QStringList admins;
    try {
        auto frontend = bindRouter(
            m_config.frontendEndpoints, frontends,
            [this](Frames& frames) { onClientMessage(frames); }, Role::Client,
            m_config.maxMessageBytes);
        auto backend = bindRouter(
            m_config.backendEndpoints, backends,
            [this](Frames& frames) { onWorkerMessage(frames); }, Role::Worker,
            m_config.maxMessageBytes);
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
        m_frontend->setBeforeDrain([this] { onFrontendWake(); });
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
    m_heartbeatTimer.start();
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

void Broker::Router::watchBackend()
{
    // libzmq keeps one monitor per socket: this one also watches handshakes for CURVE.
    const int events = ZMQ_EVENT_DISCONNECTED | (m_curve ? CurveAuthenticator::kMonitorEvents : 0);
    zmq::socket_t reader;
    try {
        reader = SocketMonitor::start(m_context, m_backend->socket(), events);
    } catch (const zmq::error_t& error) {
        qCWarning(lcBroker) << "no socket monitor on the backend (" << error.what()
                            << "): dead workers are noticed by their missing heartbeats only";
        return;
    }
    m_backendEvents =
        std::make_unique<ZmqSocketNotifier>(std::move(reader), [this](Frames& frames) {
            onBackendEvent(frames);
            sweepServices();
        });
}

void Broker::Router::readBackendEvents()
{
    if (!m_backendEvents) {
        return;
    }
    Frames frames;
    while (zmq::recv_multipart(m_backendEvents->socket(), std::back_inserter(frames),
                               zmq::recv_flags::dontwait)) {
        onBackendEvent(frames);
        frames.clear();
    }
}

void Broker::Router::onBackendEvent(const Frames& frames)
{
    // For DISCONNECTED the value is the connection's fd, which ZMQ_SRCFD gave each worker at
    // READY (registerWorker reads pending events first, so the fd of a new connection cannot be
    // mistaken for that of an old one). The other events are failed CURVE handshakes.
    const std::optional<SocketEvent> event = SocketEvent::decode(frames);
    if (!event) {
        return;
    }
    if (event->id != ZMQ_EVENT_DISCONNECTED) {
        if (m_curve) {
            m_curve->onMonitorEvent(*event);
        }
        return;
    }
    if (m_shutDown) {
        return;
    }
    const int fd = static_cast<int>(event->value);
    if (fd < 0) {
        return;
    }
    std::vector<WorkerSession*> gone;
    for (auto& [identity, worker] : m_workers) {
        if (worker.connectionFd() == fd) {
            gone.push_back(&worker);
        }
    }
    for (WorkerSession* worker : gone) {
        ++m_counters.workersPurged;
        qCInfo(lcBroker).nospace().noquote()
            << "purging worker " << peerName(worker->identity()) << " of service "
            << peerName(worker->service().name()) << ": its connection closed";
        expireWorker(*worker, "lost its connection");
    }
}

QString Broker::Router::reloadKeys()
{
    return m_curve ? m_curve->reload() : QString();
}

BrokerCounters Broker::Router::counters() const
{
    BrokerCounters counters = m_counters;
    counters.workers = m_workers.size();
    counters.services = m_services.size();
    counters.queuedRequests = m_queued;
    counters.requestsInFlight = m_inFlight;
    counters.heldReplies = m_held.replies();
    counters.heldReplyBytes = m_held.bytes();
    counters.slowClients = m_held.clients();
    counters.clientsAtBound = m_held.clientsAtBound();
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

Service& Broker::Router::serviceNamed(std::string_view name, Clock::time_point now)
{
    Service& service = m_services.findOrCreate(name);
    if (m_config.statistics && !service.meter()) {
        service.setMeter(m_statistics.link(name, now));
    }
    return service;
}

// ---------------------------------------------------------------------------------------------
// Clients

void Broker::Router::onClientMessage(Frames& frames)
{
    if (m_shutDown) {
        return;
    }
    ++m_counters.clientMessages;
    mdp::ClientMessage message;
    try {
        message = mdp::parseClientRequest(frames, 1);
    } catch (const ProtocolError& error) {
        onMalformedClientMessage(frames, error);
        return;
    }
    const auto serviceName = frameView(frames[message.serviceFrame]);
    const bool mmi = MmiResponder::isMmi(serviceName);
    rpc::RequestOptions options;
    if (!mmi) {
        // Before the request is counted: every client message lands in one intake bucket.
        try {
            options = rpc::requestOptionsOf(frames, message.bodyBegin);
        } catch (const ProtocolError& error) {
            countMalformed(error, false, frameView(frames[0]), serviceName);
            replyError(frameView(frames[0]), message.version, serviceName,
                       requestIdOf(frames, message.bodyBegin), rpc::errortype::kMalformedRequest,
                       error.what(), HeldReplies::Kind::Refusal);
            return;
        }
    }
    const auto now = Clock::now();
    ++m_counters.requestsReceived;
    if (m_config.statistics) {
        m_statistics.recordRequest(now);
    }
    if (!m_held.empty() && !admitFromClient(frames, message, now)) {
        return;
    }
    if (mmi) {
        answerMmi(frames, message);
        return;
    }
    acceptRequest(serviceNamed(serviceName, now), frames, message, options, now);
    sweepServices();
}

void Broker::Router::acceptRequest(Service& service, Frames& frames,
                                   const mdp::ClientMessage& message,
                                   const rpc::RequestOptions& options, Clock::time_point now)
{
    RequestTerms terms;
    terms.receivedAt = now;
    terms.deadline =
        now + (options.timeoutMs ? std::min(m_config.requestTimeout,
                                            std::chrono::milliseconds(*options.timeoutMs))
                                 : m_config.requestTimeout);
    terms.idempotent = options.idempotent;
    if (ServiceMeter* serviceMeter = service.meter()) {
        serviceMeter->recordRequest(now);
        terms.meter =
            &m_statistics.method(*serviceMeter, rpc::methodOf(frames, message.bodyBegin), now);
    }
    MethodMeter* meter = terms.meter;
    while (WorkerSession* worker = service.idleWorkers().popFront()) {
        if (dispatch(*worker, frames, message, terms, now)) {
            if (worker->hasCapacity()) {
                service.idleWorkers().pushBack(*worker);
            }
            return;
        }
        expireWorker(*worker, "lost its connection");
    }
    if (service.queue().size() >= m_config.maxQueuePerService) {
        ++m_counters.queueFull;
        countBrokerError(service, meter, now);
        replyError(frameView(frames[0]), message.version, service.name(),
                   requestIdOf(frames, message.bodyBegin), rpc::errortype::kQueueFull,
                   "service '" + service.name() + "' already has " +
                       std::to_string(service.queue().size()) + " requests waiting (--max-queue)");
        return;
    }
    std::size_t bytes = 0;
    for (const zmq::message_t& frame : frames) {
        bytes += frame.size();
    }
    if (m_queuedBytes + bytes > m_config.maxQueuedBytes) {
        ++m_counters.queueFull;
        countBrokerError(service, meter, now);
        replyError(frameView(frames[0]), message.version, service.name(),
                   requestIdOf(frames, message.bodyBegin), rpc::errortype::kQueueFull,
                   "the broker already holds " + std::to_string(m_queuedBytes) +
                       " bytes of waiting requests, and this one has " + std::to_string(bytes) +
                       " (--max-queued-bytes)");
        return;
    }
    // Move the frames, not the vector: the vector is the notifier's receive buffer, and taking
    // it would make the next receives grow a new one.
    Frames waiting;
    waiting.reserve(frames.size());
    std::move(frames.begin(), frames.end(), std::back_inserter(waiting));
    service.pushBack({std::move(waiting), message, terms, bytes});
    ++m_queued;
    m_queuedBytes += bytes;
    m_expiryTimer.arm(terms.deadline);
}

void Broker::Router::answerMmi(Frames& frames, const mdp::ClientMessage& message)
{
    ++m_counters.mmiRequests;
    const auto service = frameView(frames[message.serviceFrame]);
    m_out.clear();
    m_out.push_back(std::move(frames[0]));
    mdp::appendClientHeader(m_out, message.version, finalCommand(message.version));
    m_out.emplace_back(service.data(), service.size());
    m_mmi.answer(service, frames, message.bodyBegin, m_out);
    deliverToClient();
}

void Broker::Router::onMalformedClientMessage(Frames& frames, const ProtocolError& error)
{
    const auto peer = frames.empty() ? std::string_view{} : frameView(frames[0]);
    // Both versions put the service name at frame 3 (after the identity).
    const auto service = frames.size() > 3 ? frameView(frames[3]) : std::string_view{};
    const bool serviceOk = error.kind() != ProtocolErrorKind::InvalidServiceName;
    // The event log keys floods by service: only a name that could be one may serve as key.
    countMalformed(error, false, peer,
                   serviceOk && mdp::isValidServiceName(service) ? service : std::string_view{});
    const auto version = mdp::clientVersionOf(frames, 1);
    if (!version) {
        return; // not MDP at all: there is no way to answer
    }
    replyError(peer, *version, serviceOk ? service : std::string_view{}, {},
               rpc::errortype::kMalformedRequest, error.what(), HeldReplies::Kind::Refusal);
}

void Broker::Router::replyError(std::string_view clientIdentity, mdp::Version version,
                                std::string_view service, std::string_view requestId,
                                std::string_view type, std::string message, HeldReplies::Kind kind)
{
    if (kind == HeldReplies::Kind::Refusal && !m_held.empty() &&
        m_held.isPastHardBound(clientIdentity)) {
        ++m_counters.requestsDiscarded; // it reads nothing, and its errors would pile up
        return;
    }
    ++m_counters.brokerErrors;
    m_out.clear();
    m_out.emplace_back(clientIdentity.data(), clientIdentity.size());
    mdp::appendClientHeader(m_out, version, finalCommand(version));
    m_out.emplace_back(service.data(), service.size());
    rpc::appendErrorReply(m_out, requestId, {std::string(type), std::move(message), {}});
    deliverToClient(kind);
}

void Broker::Router::deliverToClient(HeldReplies::Kind kind)
{
    // Behind the answers already held for this client, never before them.
    if (!m_held.empty() && m_held.isHolding(frameView(m_out.front()))) {
        holdReply(kind);
        return;
    }
    switch (m_frontend->send(m_out)) {
    case ZmqSocketNotifier::SendResult::Sent:
        return;
    case ZmqSocketNotifier::SendResult::WouldBlock:
        holdReply(kind);
        return;
    case ZmqSocketNotifier::SendResult::Unroutable:
        ++m_counters.clientUnreachable;
        return;
    }
}

void Broker::Router::holdReply(HeldReplies::Kind kind)
{
    const std::string client(frameView(m_out.front()));
    ++m_counters.repliesHeld;
    if (m_held.hold(std::move(m_out), kind)) {
        const auto now = Clock::now();
        m_events.addCoalesced(BrokerEvent::Kind::ClientNotReading, {}, now, [&] {
            return QStringLiteral("client %1 is not reading: its answers are held until it "
                                  "does (its pipe holds --socket-hwm %2 messages)")
                .arg(peerName(client))
                .arg(m_config.socketHwm);
        });
        warnLimited(m_clientLog, [&](QDebug& line) {
            line << "client " << peerName(client)
                 << " is not reading: holding its answers until it does";
        });
    }
    m_out = Frames{};
    m_heldRetryTimer.arm(Clock::now() + kHeldRetryInterval);
}

void Broker::Router::onFrontendWake()
{
    if (m_held.empty()) {
        return;
    }
    const auto now = Clock::now();
    if (now < m_nextHeldSweep) {
        m_heldRetryTimer.arm(m_nextHeldSweep);
        return;
    }
    flushHeldReplies(now);
}

void Broker::Router::flushHeldReplies(Clock::time_point now)
{
    if (m_held.empty() || !m_frontend) {
        m_heldRetryTimer.stop();
        return;
    }
    m_nextHeldSweep = now + kHeldSweepSpacing;
    const HeldReplies::FlushReport report = m_held.flush([this](Frames& frames) {
        switch (m_frontend->send(frames)) {
        case ZmqSocketNotifier::SendResult::Sent:
            return HeldReplies::Delivery::Sent;
        case ZmqSocketNotifier::SendResult::WouldBlock:
            return HeldReplies::Delivery::WouldBlock;
        case ZmqSocketNotifier::SendResult::Unroutable:
            break;
        }
        return HeldReplies::Delivery::Gone;
    });
    m_counters.heldRepliesDelivered += report.delivered;
    if (!report.released.empty()) {
        countReleased(report.released, "disconnected", now);
    }
    if (m_held.empty()) {
        m_heldRetryTimer.stop();
    } else {
        m_heldRetryTimer.arm(now + kHeldRetryInterval);
    }
}

void Broker::Router::countReleased(const std::vector<HeldReplies::Released>& released,
                                   const char* why, Clock::time_point now)
{
    for (const HeldReplies::Released& client : released) {
        m_counters.heldRepliesReleased += client.replies;
        m_events.addCoalesced(BrokerEvent::Kind::RepliesDropped, {}, now, [&] {
            return QStringLiteral("dropped %1 answers (%2 bytes) held for client %3: it %4")
                .arg(client.replies)
                .arg(client.bytes)
                .arg(peerName(client.client), QLatin1String(why));
        });
        warnLimited(m_clientLog, [&](QDebug& line) {
            line << "dropped " << client.replies << " answers (" << client.bytes
                 << " bytes) held for client " << peerName(client.client) << ": it " << why;
        });
    }
}

bool Broker::Router::admitFromClient(const Frames& frames, const mdp::ClientMessage& message,
                                     Clock::time_point now)
{
    const auto client = frameView(frames[0]);
    const HeldReplies::Decision decision = m_held.admit(client);
    using Admission = HeldReplies::Admission;
    if (decision.admission == Admission::Accept) {
        return true;
    }
    const auto service = frameView(frames[message.serviceFrame]);
    const HeldReplies::Limits& limits = m_held.limits();
    if (decision.newlyAtBound) {
        m_events.addCoalesced(BrokerEvent::Kind::ClientAtBound, {}, now, [&] {
            return QStringLiteral("client %1 has %2 bytes of answers it has not read: its new "
                                  "requests get QueueFull until it reads")
                .arg(peerName(client))
                .arg(decision.clientBytes);
        });
        warnLimited(m_clientLog, [&](QDebug& line) {
            line << "client " << peerName(client) << " has " << decision.clientBytes
                 << " bytes of answers it has not read: refusing its new requests (QueueFull)";
        });
    }
    if (decision.admission == Admission::Discard) {
        // Its refusals alone fill a bound: nothing more can be kept for it.
        ++m_counters.requestsDiscarded;
        m_events.addCoalesced(BrokerEvent::Kind::RepliesDropped, {}, now, [&] {
            return QStringLiteral("discarded a request of client %1 unanswered: it sends without "
                                  "reading, and %2 bytes of answers wait for it")
                .arg(peerName(client))
                .arg(decision.clientBytes);
        });
        return false;
    }
    ++m_counters.queueFull;
    ++m_counters.refusedUnread;
    const std::string text =
        decision.admission == Admission::RefuseClient
            ? "this client has " + std::to_string(decision.clientBytes) +
                  " bytes of answers it has not read (--max-held-per-client " +
                  std::to_string(limits.perClientBytes) + "): read them before sending more"
            : "clients that do not read hold " + std::to_string(m_held.bytes()) +
                  " bytes of answers in the broker (--max-held-bytes " +
                  std::to_string(limits.totalBytes) + "), " + std::to_string(decision.clientBytes) +
                  " of them this client's: read them before sending more";
    replyError(client, message.version, service, requestIdOf(frames, message.bodyBegin),
               rpc::errortype::kQueueFull, text, HeldReplies::Kind::Refusal);
    return false;
}

// ---------------------------------------------------------------------------------------------
// Workers

void Broker::Router::onWorkerMessage(Frames& frames)
{
    if (m_shutDown || frames.empty()) {
        return;
    }
    ++m_counters.workerMessages;
    const auto now = Clock::now();
    const auto identity = frameView(frames[0]);
    auto found = m_workers.find(identity);
    mdp::WorkerMessage message;
    try {
        message = mdp::parseWorkerMessage(frames, 1);
    } catch (const ProtocolError& error) {
        countMalformed(error, true, identity,
                       found != m_workers.end() ? std::string_view(found->second.service().name())
                                                : std::string_view{});
        // RFC 7: drop invalid messages and treat the peer as invalid.
        if (found != m_workers.end()) {
            disconnectForViolation(found->second, error.what());
        }
        sweepServices();
        return;
    }

    if (found == m_workers.end()) {
        switch (message.command) {
        case mdp::WorkerCommand::Ready:
            registerWorker(frames, message, now);
            break;
        case mdp::WorkerCommand::Disconnect:
            ++m_counters.workerMessagesIgnored; // nothing to forget
            break;
        case mdp::WorkerCommand::Reply:
        case mdp::WorkerCommand::Partial:
        case mdp::WorkerCommand::Final:
            // A worker the broker gave up on (purged, evicted): the client already got
            // WorkerLost, or the request went to another worker. Delivering this too would
            // answer it twice.
            ++m_counters.lateReplies;
            [[fallthrough]];
        default:
            // Valid but unexpected (e.g. a worker the broker purged, or one that never said
            // READY): RFC 7 says DISCONNECT, and the worker will reconnect and register again.
            ++m_counters.workerMessagesRefused;
            ++m_counters.workersDisconnected;
            m_events.addCoalesced(BrokerEvent::Kind::WorkerDisconnected, {}, now, [&] {
                const bool answer = message.command == mdp::WorkerCommand::Reply ||
                                    message.command == mdp::WorkerCommand::Partial ||
                                    message.command == mdp::WorkerCommand::Final;
                return (answer ? QStringLiteral("dropped a late %2 from %1, a worker the broker "
                                                "had given up on, and sent it DISCONNECT")
                               : QStringLiteral("sent DISCONNECT to %1, which sent %2 without "
                                                "READY (workers do this once after a broker "
                                                "restart)"))
                    .arg(peerName(identity), QLatin1String(mdp::toString(message.command).data()));
            });
            sendWorkerCommand(identity, message.version, mdp::WorkerCommand::Disconnect);
            break;
        }
        sweepServices();
        return;
    }

    WorkerSession& worker = found->second;
    if (message.version != worker.version()) {
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(worker, "changed MDP version mid-session");
    } else {
        worker.heard(now, now + m_config.heartbeatInterval * m_config.liveness);
        switch (message.command) {
        case mdp::WorkerCommand::Heartbeat:
            ++m_counters.workerHeartbeats;
            break;
        case mdp::WorkerCommand::Reply:
        case mdp::WorkerCommand::Partial:
        case mdp::WorkerCommand::Final:
            onWorkerAnswer(worker, frames, message, now);
            break;
        case mdp::WorkerCommand::Disconnect:
            ++m_counters.workersLeft;
            m_events.add(BrokerEvent::Kind::WorkerLeft, fromUtf8(worker.service().name()),
                         peerName(worker.identity()),
                         QStringLiteral("worker %1 of service '%2' said DISCONNECT%3")
                             .arg(peerName(worker.identity()), fromUtf8(worker.service().name()),
                                  worker.inFlight().empty()
                                      ? QString()
                                      : QStringLiteral(" while holding a request (answered "
                                                       "WorkerLost)")));
            removeWorker(worker, rpc::errortype::kWorkerLost,
                         "worker disconnected before answering");
            break;
        case mdp::WorkerCommand::Ready:
            ++m_counters.workerMessagesRefused;
            disconnectForViolation(worker, "sent READY twice");
            break;
        case mdp::WorkerCommand::Request:
            ++m_counters.workerMessagesRefused;
            disconnectForViolation(worker, "sent a REQUEST to the broker");
            break;
        }
    }
    sweepServices();
}

void Broker::Router::registerWorker(Frames& frames, const mdp::WorkerMessage& message,
                                    Clock::time_point now)
{
    const auto identity = frameView(frames[0]);
    const auto serviceName = frameView(frames[message.serviceFrame]);
    if (MmiResponder::isMmi(serviceName)) {
        ++m_counters.workerMessagesRefused;
        ++m_counters.workersDisconnected;
        qCWarning(lcBroker).noquote() << "refused worker" << peerName(identity)
                                      << "for reserved service" << peerName(serviceName);
        m_events.addCoalesced(BrokerEvent::Kind::WorkerDisconnected, serviceName, now, [&] {
            return QStringLiteral("refused worker %1: service '%2' is reserved for the broker")
                .arg(peerName(identity), fromUtf8(serviceName));
        });
        sendWorkerCommand(identity, message.version, mdp::WorkerCommand::Disconnect);
        return;
    }
    // Disconnects reported until now are of connections older than this one: handled first,
    // a later report for the same fd (reused by the kernel) is surely about this worker.
    readBackendEvents();
    Service& service = serviceNamed(serviceName, now);
    auto [it, inserted] = m_workers.try_emplace(std::string(identity), std::string(identity),
                                                message.version, service, now);
    WorkerSession& worker = it->second;
    worker.heard(now, now + m_config.heartbeatInterval * m_config.liveness);
    // libzmq attaches the connection's metadata to every frame it receives; frame 0 is the
    // identity the ROUTER made up, so ask a frame that came from the peer.
    if (const char* address = zmq_msg_gets(frames[1].handle(), "Peer-Address")) {
        worker.setPeerAddress(address);
    }
    worker.setConnectionFd(zmq_msg_get(frames[1].handle(), ZMQ_SRCFD));
    // The same identity coming back (workers that set their own) replaces its expired row.
    std::erase_if(m_expiredWorkers, [&](const ExpiredWorker& expired) {
        return std::string_view(expired.row.identity.constData(),
                                static_cast<std::size_t>(expired.row.identity.size())) == identity;
    });
    service.addWorker();
    ++m_counters.workersRegistered;
    qCDebug(lcBroker).noquote() << "worker" << peerName(identity) << "ready for"
                                << peerName(serviceName) << "speaking"
                                << mdp::toString(message.version).data();
    m_events.add(BrokerEvent::Kind::WorkerJoined, fromUtf8(serviceName), peerName(identity),
                 QStringLiteral("worker %1 joined service '%2' (%3)%4")
                     .arg(peerName(identity), fromUtf8(serviceName),
                          message.version == mdp::Version::V01 ? QStringLiteral("MDPW01")
                                                               : QStringLiteral("MDPW02"),
                          worker.peerAddress().empty()
                              ? QString()
                              : QStringLiteral(" from ") + fromUtf8(worker.peerAddress())));
    makeAvailable(worker);
}

void Broker::Router::onWorkerAnswer(WorkerSession& worker, Frames& frames,
                                    const mdp::WorkerMessage& message, Clock::time_point now)
{
    const auto client = frameView(frames[message.clientFrame]);
    auto& held = worker.inFlight();
    auto request = std::find_if(held.begin(), held.end(), [&](const InFlightRequest& r) {
        return r.clientIdentity == client;
    });
    if (request == held.end()) {
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(worker, held.empty() ? "answered without holding a request"
                                                    : "answered a request it does not hold");
        return;
    }
    ++m_counters.workerAnswers;
    const bool final = message.command != mdp::WorkerCommand::Partial;
    Service& service = worker.service();
    // Before the body frames move on.
    const bool errorReply = final && isErrorReply(frames, message.bodyBegin);

    if (request->clientVersion == mdp::Version::V01 && !final && !request->streamRejected) {
        // A 7/MDP client takes exactly one REPLY: say why it gets no stream, drop the rest.
        request->streamRejected = true;
        replyError(client, mdp::Version::V01, service.name(), request->requestId,
                   rpc::errortype::kStreamingUnsupported,
                   "the worker streamed its answer; a 7/MDP (MDPC01) client cannot receive a "
                   "stream, use an 18/MDP (MDPC02) client");
    } else if (!request->streamRejected) {
        m_out.clear();
        m_out.push_back(std::move(frames[message.clientFrame]));
        mdp::appendClientHeader(m_out, request->clientVersion,
                                final ? finalCommand(request->clientVersion)
                                      : mdp::ClientCommand::Partial);
        m_out.emplace_back(service.name().data(), service.name().size());
        for (std::size_t i = message.bodyBegin; i < frames.size(); ++i) {
            m_out.push_back(std::move(frames[i]));
        }
        deliverToClient();
        ++(final ? m_counters.repliesDelivered : m_counters.partialsDelivered);
        request->partialSent = request->partialSent || !final;
        m_counters.workerErrors += errorReply ? 1 : 0;
    }
    if (final) {
        // What the client got: the worker's answer, or StreamingUnsupported.
        const bool error = errorReply || request->streamRejected;
        worker.countAnswer(error);
        if (MethodMeter* meter = request->terms.meter) {
            meter->recordAnswer(request->dispatchedAt - request->terms.receivedAt,
                                now - request->dispatchedAt, error, now);
            if (error) {
                service.meter()->recordError(now);
            }
        }
        held.erase(request);
        --m_inFlight;
        makeAvailable(worker);
    }
}

void Broker::Router::disconnectForViolation(WorkerSession& worker, std::string_view why)
{
    ++m_counters.workersDisconnected;
    warnLimited(m_workerLog, [&](QDebug& line) {
        line << "disconnecting worker " << peerName(worker.identity()) << " of service "
             << peerName(worker.service().name()) << ": " << why.data();
    });
    m_events.add(
        BrokerEvent::Kind::WorkerDisconnected, fromUtf8(worker.service().name()),
        peerName(worker.identity()),
        QStringLiteral("disconnected worker %1 of service '%2': %3")
            .arg(peerName(worker.identity()), fromUtf8(worker.service().name()), fromUtf8(why)));
    sendWorkerCommand(worker.identity(), worker.version(), mdp::WorkerCommand::Disconnect);
    removeWorker(worker, rpc::errortype::kWorkerLost,
                 "worker was disconnected for a protocol violation: " + std::string(why));
}

ZmqSocketNotifier::SendResult Broker::Router::sendWorkerCommand(std::string_view identity,
                                                                mdp::Version version,
                                                                mdp::WorkerCommand command)
{
    m_out.clear();
    m_out.emplace_back(identity.data(), identity.size());
    mdp::appendWorkerHeader(m_out, version, command);
    return m_backend->send(m_out);
}

void Broker::Router::removeWorker(WorkerSession& worker, std::string_view errorType,
                                  const std::string& message)
{
    Service& service = worker.service();
    const auto now = worker.inFlight().empty() ? Clock::time_point{} : Clock::now();
    const bool lost = errorType == rpc::errortype::kWorkerLost;
    for (auto& request : worker.inFlight()) {
        --m_inFlight;
        if (lost && requeue(service, request, now)) {
            continue;
        }
        if (!request.streamRejected) {
            ++(lost ? m_counters.workerLost : m_counters.shutdownErrors);
            std::string text = message;
            if (lost && request.terms.idempotent) {
                text += request.partialSent ? "; not retried: part of the answer was delivered"
                        : request.terms.deadline <= now
                            ? "; not retried: its deadline passed"
                            : "; not retried: " + std::to_string(request.terms.attempts) +
                                  " attempts made (--max-attempts)";
            }
            replyError(request.clientIdentity, request.clientVersion, service.name(),
                       request.requestId, errorType, std::move(text));
        }
        countBrokerError(service, request.terms.meter, now);
    }
    service.idleWorkers().remove(worker);
    service.removeWorker();
    if (auto it = m_workers.find(worker.identity()); it != m_workers.end()) {
        m_workers.erase(it); // `worker` is gone from here on
    }
    m_sweepNeeded = true;
}

void Broker::Router::expireWorker(WorkerSession& worker, const char* why)
{
    const auto now = Clock::now();
    ExpiredWorker expired{workerRow(worker, now), worker.lastHeard(), now};
    expired.row.state = WorkerStats::State::Expired;
    expired.row.livenessLeft = 0;
    if (m_expiredWorkers.size() >= kMaxExpiredWorkers) {
        m_expiredWorkers.pop_front();
    }
    m_events.add(BrokerEvent::Kind::WorkerExpired, expired.row.service, expired.row.name,
                 QStringLiteral("purged worker %1 of service '%2': it %3%4")
                     .arg(expired.row.name, expired.row.service, QLatin1String(why),
                          worker.inFlight().empty()
                              ? QString()
                              : QStringLiteral(" (its request went to another worker if the "
                                               "client marked it idempotent, else it was "
                                               "answered WorkerLost)")));
    m_expiredWorkers.push_back(std::move(expired));
    removeWorker(worker, rpc::errortype::kWorkerLost,
                 std::string("worker ") + why + " and was purged");
}

std::optional<std::size_t> Broker::Router::evictWorker(std::string_view identity)
{
    if (m_shutDown) {
        return std::nullopt;
    }
    auto found = m_workers.find(identity);
    if (found == m_workers.end()) {
        return std::nullopt;
    }
    WorkerSession& worker = found->second;
    const std::size_t held = worker.inFlight().size();
    const QString name = peerName(worker.identity());
    const QString service = fromUtf8(worker.service().name());
    ++m_counters.workersEvicted;
    qCInfo(lcBroker).noquote() << "evicting worker" << name << "of service" << service
                               << "on an operator's request";
    m_events.add(BrokerEvent::Kind::WorkerEvicted, service, name,
                 QStringLiteral("evicted worker %1 of service '%2' on an operator's request%3")
                     .arg(name, service,
                          held == 0
                              ? QString()
                              : QStringLiteral(" (its request went to another worker if the client "
                                               "marked it idempotent, else it was answered "
                                               "WorkerLost)")));
    sendWorkerCommand(worker.identity(), worker.version(), mdp::WorkerCommand::Disconnect);
    removeWorker(worker, rpc::errortype::kWorkerLost,
                 "worker " + name.toStdString() + " was evicted by an operator");
    sweepServices();
    return held;
}

// ---------------------------------------------------------------------------------------------
// Dispatch

bool Broker::Router::dispatch(WorkerSession& worker, Frames& frames,
                              const mdp::ClientMessage& message, const RequestTerms& terms,
                              Clock::time_point now)
{
    auto& held = worker.inFlight();
    InFlightRequest& request = held.emplace_back();
    request.clientIdentity = frameView(frames[0]);
    request.requestId = requestIdOf(frames, message.bodyBegin);
    request.clientVersion = message.version;
    request.dispatchedAt = now;
    request.terms = terms;
    ++request.terms.attempts;
    if (terms.meter) {
        request.method.assign(rpc::methodOf(frames, message.bodyBegin));
    }
    if (terms.idempotent && request.terms.attempts < m_config.maxAttempts) {
        // Copies share the buffers of all but the smallest frames: this costs a reference
        // count per frame, not the body.
        request.retained.resize(frames.size());
        for (std::size_t i = 0; i < frames.size(); ++i) {
            request.retained[i].copy(frames[i]);
        }
        request.message = message;
    }

    m_out.clear();
    m_out.emplace_back(worker.identity().data(), worker.identity().size());
    mdp::appendWorkerHeader(m_out, worker.version(), mdp::WorkerCommand::Request);
    const std::size_t clientAt = m_out.size();
    m_out.push_back(std::move(frames[0]));
    m_out.emplace_back();
    for (std::size_t i = message.bodyBegin; i < frames.size(); ++i) {
        m_out.push_back(std::move(frames[i]));
    }
    if (m_backend->send(m_out) != ZmqSocketNotifier::SendResult::Sent) {
        // Nothing left: put the frames back where they came from for the next worker.
        frames[0] = std::move(m_out[clientAt]);
        for (std::size_t i = message.bodyBegin, j = clientAt + 2; i < frames.size(); ++i, ++j) {
            frames[i] = std::move(m_out[j]);
        }
        held.pop_back();
        return false;
    }
    ++m_inFlight;
    ++m_counters.requestsDispatched;
    return true;
}

void Broker::Router::makeAvailable(WorkerSession& worker)
{
    Service& service = worker.service();
    auto& queue = service.queue();
    while (worker.hasCapacity() && !queue.empty()) {
        QueuedRequest& next = queue.front();
        const auto now = Clock::now();
        if (next.terms.deadline <= now) {
            // The expiry timer has not come round to it yet: answered, never dispatched.
            answerExpired(service, next, now);
        } else if (!dispatch(worker, next.frames, next.message, next.terms, now)) {
            expireWorker(worker, "lost its connection");
            return;
        }
        m_queuedBytes -= next.bytes;
        service.popFront();
        --m_queued;
    }
    if (worker.hasCapacity()) {
        service.idleWorkers().pushBack(worker);
    }
}

// ---------------------------------------------------------------------------------------------
// Timers

void Broker::Router::onHeartbeatTick()
{
    const auto now = Clock::now();
    std::vector<std::pair<WorkerSession*, const char*>> lost;
    for (auto& [identity, worker] : m_workers) {
        if (worker.expiry() <= now) {
            lost.emplace_back(&worker, "stopped heartbeating");
        } else if (sendWorkerCommand(identity, worker.version(), mdp::WorkerCommand::Heartbeat) ==
                   ZmqSocketNotifier::SendResult::Unroutable) {
            // Its connection is gone (process died, socket closed): no need to wait out the
            // liveness. A full queue (WouldBlock) is not a reason: liveness decides then.
            lost.emplace_back(&worker, "lost its connection");
        }
    }
    for (auto [worker, why] : lost) {
        ++m_counters.workersPurged;
        qCInfo(lcBroker).nospace().noquote()
            << "purging worker " << peerName(worker->identity()) << " of service "
            << peerName(worker->service().name()) << ": it " << why;
        expireWorker(*worker, why);
    }
    sweepServices();
}

void Broker::Router::expireQueued()
{
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    m_services.forEach([&](Service& service) {
        auto& queue = service.queue();
        if (service.deadlinesOrdered()) {
            while (!queue.empty() && queue.front().terms.deadline <= now) {
                answerExpired(service, queue.front(), now);
                m_queuedBytes -= queue.front().bytes;
                service.popFront();
                --m_queued;
            }
            if (!queue.empty()) {
                next = std::min(next, queue.front().terms.deadline);
            }
            return;
        }
        // Requests with timeouts of their own: expired ones may sit anywhere.
        auto kept = queue.begin();
        auto earliest = Clock::time_point::max();
        for (auto it = queue.begin(); it != queue.end(); ++it) {
            if (it->terms.deadline <= now) {
                answerExpired(service, *it, now);
                m_queuedBytes -= it->bytes;
                --m_queued;
                continue;
            }
            earliest = std::min(earliest, it->terms.deadline);
            if (kept != it) {
                *kept = std::move(*it);
            }
            ++kept;
        }
        queue.erase(kept, queue.end());
        if (queue.empty()) {
            service.setDeadlinesOrdered();
        }
        next = std::min(next, earliest);
    });
    if (m_queued != 0 && next != Clock::time_point::max()) {
        // Not sooner than 5 ms from now: a burst of deadlines a few microseconds apart is
        // answered in one pass, not one pass each.
        m_expiryTimer.arm(std::max(next, now + 5ms));
    }
    sweepServices();
}

void Broker::Router::answerExpired(Service& service, const QueuedRequest& request,
                                   Clock::time_point now)
{
    ++m_counters.expired;
    countBrokerError(service, request.terms.meter, now);
    if (ServiceMeter* meter = service.meter()) {
        meter->recordExpired();
    }
    const auto waitedMs =
        std::to_string(millisecondsOf(request.terms.deadline - request.terms.receivedAt));
    const bool noWorker = service.workerCount() == 0;
    m_events.addCoalesced(BrokerEvent::Kind::RequestExpired, service.name(), now, [&] {
        return noWorker
                   ? QStringLiteral("a request for service '%1' expired: no worker within %2 ms")
                         .arg(fromUtf8(service.name()), QString::fromStdString(waitedMs))
                   : QStringLiteral("a request for service '%1' expired: its %2 workers stayed "
                                    "busy for %3 ms")
                         .arg(fromUtf8(service.name()))
                         .arg(service.workerCount())
                         .arg(QString::fromStdString(waitedMs));
    });
    if (noWorker) {
        replyError(frameView(request.frames[0]), request.message.version, service.name(),
                   requestIdOf(request.frames, request.message.bodyBegin),
                   rpc::errortype::kServiceUnavailable,
                   "no worker for service '" + service.name() + "' within " + waitedMs + " ms");
    } else {
        replyError(frameView(request.frames[0]), request.message.version, service.name(),
                   requestIdOf(request.frames, request.message.bodyBegin), rpc::errortype::kExpired,
                   "all " + std::to_string(service.workerCount()) + " workers of service '" +
                       service.name() + "' stayed busy for " + waitedMs + " ms");
    }
    m_sweepNeeded = true;
}

bool Broker::Router::requeue(Service& service, InFlightRequest& request, Clock::time_point now)
{
    if (request.retained.empty() || request.partialSent || request.streamRejected ||
        request.terms.deadline <= now) {
        return false;
    }
    std::size_t bytes = 0;
    for (const zmq::message_t& frame : request.retained) {
        bytes += frame.size();
    }
    // Accepted before, so the queue bounds do not apply: refusing now would turn a request the
    // client was promised into a QueueFull it has no reason to expect.
    service.pushFront({std::move(request.retained), request.message, request.terms, bytes});
    ++m_queued;
    m_queuedBytes += bytes;
    ++m_counters.requeued;
    m_requeued = true;
    m_expiryTimer.arm(request.terms.deadline);
    return true;
}

void Broker::Router::dispatchRequeued()
{
    while (m_requeued) {
        m_requeued = false;
        m_services.forEach([&](Service& service) {
            while (!service.queue().empty()) {
                WorkerSession* worker = service.idleWorkers().popFront();
                if (!worker) {
                    break;
                }
                makeAvailable(*worker);
            }
        });
    }
}

void Broker::Router::sweepServices()
{
    // Every handler ends here, where no loop holds a worker: the place to hand requests of
    // lost workers to the idle ones.
    dispatchRequeued();
    if (m_sweepNeeded) {
        m_sweepNeeded = false;
        m_services.forgetUnused();
    }
}

void Broker::Router::onSnapshotTick()
{
    const auto now = Clock::now();
    m_events.flush(now);
    if (m_config.statistics) {
        m_statistics.sweep(now);
    }
    while (!m_expiredWorkers.empty() &&
           now - m_expiredWorkers.front().expiredAt >= kExpiredWorkerRetention) {
        m_expiredWorkers.pop_front();
    }
    // Taken only for someone who reads it: a subscriber in this process, or a remote monitor
    // that polled recently.
    const bool local = m_owner.isSignalConnected(QMetaMethod::fromSignal(&Broker::snapshotReady));
    const bool remote = m_admin && m_admin->wantsSnapshots(now);
    if (!local && !remote) {
        return;
    }
    const BrokerSnapshot taken = snapshot();
    if (remote) {
        m_admin->offer(taken, now);
    }
    if (local) {
        Q_EMIT m_owner.snapshotReady(taken);
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

void Broker::Router::countBrokerError(Service& service, MethodMeter* meter, Clock::time_point now)
{
    if (meter) {
        meter->recordBrokerError(now);
    }
    if (ServiceMeter* serviceMeter = service.meter()) {
        serviceMeter->recordError(now);
    }
}

WorkerStats Broker::Router::workerRow(const WorkerSession& worker, Clock::time_point now) const
{
    WorkerStats row;
    row.identity =
        QByteArray(worker.identity().data(), static_cast<qsizetype>(worker.identity().size()));
    row.name = peerName(worker.identity());
    row.peerAddress = fromUtf8(worker.peerAddress());
    row.service = fromUtf8(worker.service().name());
    row.protocol =
        worker.version() == mdp::Version::V01 ? QStringLiteral("MDPW01") : QStringLiteral("MDPW02");
    const auto silent = now - worker.lastHeard();
    const auto heartbeat = std::max<Clock::duration>(m_config.heartbeatInterval, 1ms);
    // Half an interval of slack: a worker heartbeating at the broker's own interval is late by
    // a little jitter every now and then without missing anything.
    const bool late = silent > heartbeat * 3 / 2;
    const bool busy = !worker.inFlight().empty();
    row.state = late   ? WorkerStats::State::Late
                : busy ? WorkerStats::State::Busy
                       : WorkerStats::State::Idle;
    if (busy) {
        const InFlightRequest& request = worker.inFlight().front();
        row.currentMethod = fromUtf8(request.method.view());
        row.busyForMs = millisecondsOf(now - request.dispatchedAt);
    }
    row.served = worker.served();
    row.errors = worker.errors();
    row.lastSeenAgeMs = millisecondsOf(silent);
    row.livenessLeft = std::max(0, m_config.liveness - static_cast<int>(silent / heartbeat));
    row.connectedForMs = millisecondsOf(now - worker.registeredAt());
    return row;
}

BrokerSnapshot Broker::Router::snapshot() const
{
    const auto now = Clock::now();
    BrokerSnapshot snapshot;
    snapshot.sequence = ++m_snapshotSequence;
    snapshot.timeMs = QDateTime::currentMSecsSinceEpoch();
    snapshot.uptimeMs = millisecondsOf(now - m_startedAt);
    snapshot.version = QStringLiteral(SWITCHBOARD_VERSION);
    snapshot.frontendEndpoints = frontendEndpoints;
    snapshot.backendEndpoints = backendEndpoints;
    snapshot.adminEndpoints = adminEndpoints;
    snapshot.heartbeatIntervalMs = m_config.heartbeatInterval.count();
    snapshot.liveness = m_config.liveness;

    const BrokerCounters counts = counters();
    BrokerTotals& totals = snapshot.totals;
    totals.requests = counts.requestsReceived;
    totals.replies = counts.repliesDelivered + counts.brokerErrors + counts.mmiRequests;
    totals.errors = counts.brokerErrors + counts.workerErrors;
    totals.expired = counts.expired;
    totals.queueFull = counts.queueFull;
    totals.workerLost = counts.workerLost;
    totals.requeued = counts.requeued;
    totals.lateReplies = counts.lateReplies;
    totals.heldReplies = counts.heldReplies;
    totals.heldReplyBytes = counts.heldReplyBytes;
    totals.slowClients = counts.slowClients;
    totals.clientsAtBound = counts.clientsAtBound;
    totals.repliesHeld = counts.repliesHeld;
    totals.repliesDropped = counts.clientUnreachable + counts.heldRepliesReleased;
    totals.refusedUnread = counts.refusedUnread;
    totals.requestsDiscarded = counts.requestsDiscarded;
    totals.malformed = counts.malformedTotal();
    totals.workersRegistered = counts.workersRegistered;
    totals.workersPurged = counts.workersPurged;
    totals.workersEvicted = counts.workersEvicted;
    totals.requestsPerSecond = m_config.statistics ? m_statistics.requestsPerSecond(now) : 0;
    totals.adminRequests = counts.adminRequests;
    totals.adminMalformed = counts.adminMalformed;

    MessageIntake& intake = snapshot.intake;
    intake.clientMessages = counts.clientMessages;
    intake.clientRequests = counts.requestsReceived;
    intake.clientMalformed = counts.malformedFromClients;
    intake.workerMessages = counts.workerMessages;
    intake.workerMalformed = counts.malformedFromWorkers;
    intake.workerReady = counts.workersRegistered;
    intake.workerHeartbeats = counts.workerHeartbeats;
    intake.workerAnswers = counts.workerAnswers;
    intake.workerLeft = counts.workersLeft;
    intake.workerRefused = counts.workerMessagesRefused;
    intake.workerIgnored = counts.workerMessagesIgnored;

    m_services.forEach([&](const Service& service) {
        ServiceStats row;
        row.name = fromUtf8(service.name());
        row.queueDepth = service.queue().size();
        row.idleWorkers = service.idleWorkers().size();
        row.busyWorkers = service.workerCount() - service.idleWorkers().size();
        // A service beyond the bound reports to the catch-all: its own row shows no counts.
        if (const ServiceMeter* meter = service.meter(); meter && meter->name() == service.name()) {
            meter->fill(row, now);
        }
        snapshot.services.push_back(std::move(row));
    });
    m_statistics.forEachService([&](const ServiceMeter& meter) {
        if (!m_services.find(meter.name())) {
            ServiceStats row; // gone, but its statistics are still kept
            row.name = fromUtf8(meter.name());
            meter.fill(row, now);
            snapshot.services.push_back(std::move(row));
        }
        for (const auto& [name, method] : meter.methods()) {
            snapshot.methods.push_back(method.stats(now));
        }
    });

    for (const auto& [identity, worker] : m_workers) {
        snapshot.workers.push_back(workerRow(worker, now));
    }
    for (const ExpiredWorker& expired : m_expiredWorkers) {
        if (now - expired.expiredAt < kExpiredWorkerRetention) {
            WorkerStats row = expired.row;
            row.lastSeenAgeMs = millisecondsOf(now - expired.lastHeard);
            snapshot.workers.push_back(std::move(row));
        }
    }

    std::sort(snapshot.services.begin(), snapshot.services.end(),
              [](const ServiceStats& a, const ServiceStats& b) { return a.name < b.name; });
    std::sort(snapshot.methods.begin(), snapshot.methods.end(),
              [](const MethodStats& a, const MethodStats& b) {
                  return std::tie(a.service, a.method) < std::tie(b.service, b.method);
              });
    std::sort(snapshot.workers.begin(), snapshot.workers.end(),
              [](const WorkerStats& a, const WorkerStats& b) {
                  return std::tie(a.service, a.name) < std::tie(b.service, b.name);
              });
    snapshot.events = m_events.newest();
    return snapshot;
}

void Broker::Router::countMalformed(const ProtocolError& error, bool fromWorker,
                                    std::string_view peer, std::string_view service)
{
    ++(fromWorker ? m_counters.malformedFromWorkers : m_counters.malformedFromClients);
    ++m_counters.malformedByKind[static_cast<std::size_t>(error.kind())];
    m_events.addCoalesced(BrokerEvent::Kind::ProtocolError, service, Clock::now(), [&] {
        return QStringLiteral("malformed message from %1 %2: %3")
            .arg(fromWorker ? QStringLiteral("worker") : QStringLiteral("client"), peerName(peer),
                 QString::fromStdString(error.what()));
    });
    warnLimited(m_malformedLog, [&](QDebug& line) {
        line << "dropped malformed message from " << (fromWorker ? "worker " : "client ")
             << peerName(peer) << ": " << error.what();
    });
}

// ---------------------------------------------------------------------------------------------
// Shutdown

void Broker::Router::shutdown()
{
    if (m_shutDown || !m_frontend) {
        m_shutDown = true;
        return;
    }
    m_shutDown = true;
    m_heartbeatTimer.stop();
    m_expiryTimer.stop();
    m_snapshotTimer.stop();
    m_frontend->setReading(false);
    m_backend->setReading(false);
    if (m_admin) {
        m_admin->setReading(false);
    }

    qCInfo(lcBroker) << "shutting down: answering" << m_queued << "queued and" << m_inFlight
                     << "in-flight requests, disconnecting" << m_workers.size() << "workers";
    const std::string why = "the broker is shutting down";
    const auto now = Clock::now();
    m_services.forEach([&](Service& service) {
        for (const QueuedRequest& request : service.queue()) {
            ++m_counters.shutdownErrors;
            countBrokerError(service, request.terms.meter, now);
            replyError(frameView(request.frames[0]), request.message.version, service.name(),
                       requestIdOf(request.frames, request.message.bodyBegin),
                       rpc::errortype::kBrokerShutdown, why);
        }
        service.queue().clear();
        service.setDeadlinesOrdered();
    });
    m_queued = 0;
    m_queuedBytes = 0;
    while (!m_workers.empty()) {
        WorkerSession& worker = m_workers.begin()->second;
        sendWorkerCommand(worker.identity(), worker.version(), mdp::WorkerCommand::Disconnect);
        removeWorker(worker, rpc::errortype::kBrokerShutdown, why);
    }
    m_services.forgetUnused();
    // A last chance for clients that do not read; what they still cannot take goes with the
    // broker.
    flushHeldReplies(now);
    m_heldRetryTimer.stop();
    if (!m_held.empty()) {
        qCWarning(lcBroker) << "dropping" << m_held.replies() << "answers held for"
                            << m_held.clients() << "clients that are not reading";
        countReleased(m_held.releaseAll(), "did not read before the broker shut down", now);
    }
    if (m_curve) {
        m_curve->close();
    }
    // What was just sent still goes out while the context lives, for up to the linger time.
    if (m_backendEvents) {
        zmq_socket_monitor(m_backend->socket().handle(), nullptr, 0);
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
