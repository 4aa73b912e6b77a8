#include "router.h"

#include "logging.h"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <string>

namespace switchboard {

namespace {

using namespace std::chrono_literals;

constexpr auto kShutdownLinger = 1000ms;

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

QString printable(std::string_view bytes)
{
    const bool text = std::all_of(bytes.begin(), bytes.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
    return text ? QString::fromLatin1(bytes.data(), static_cast<qsizetype>(bytes.size()))
                : QString::fromLatin1(
                      QByteArray(bytes.data(), static_cast<qsizetype>(bytes.size())).toHex());
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

} // namespace

Broker::Router::Router(Broker& owner, BrokerConfig config, zmq::context_t& context)
    : m_owner(owner)
    , m_config(std::move(config))
    , m_context(context)
{
    m_heartbeatTimer.setInterval(m_config.heartbeatInterval);
    QObject::connect(&m_heartbeatTimer, &QTimer::timeout, &m_owner, [this] { onHeartbeatTick(); });
    // Queued requests are checked at a twentieth of their timeout (10..250 ms): fine enough for
    // an operator, coarse enough to cost nothing.
    const auto step = std::clamp(m_config.requestTimeout / 20, std::chrono::milliseconds(10),
                                 std::chrono::milliseconds(250));
    m_expiryTimer.setInterval(step);
    QObject::connect(&m_expiryTimer, &QTimer::timeout, &m_owner, [this] { expireQueued(); });
}

Broker::Router::~Router() = default;

std::unique_ptr<ZmqSocketNotifier> Broker::Router::bindRouter(const QStringList& endpoints,
                                                              QStringList& resolved,
                                                              ZmqSocketNotifier::Handler handler)
{
    zmq::socket_t socket(m_context, zmq::socket_type::router);
    // Report unknown identities instead of dropping silently: a reply to a client that is gone
    // is counted, and a request to a worker that is gone goes to another worker.
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::linger, 0);
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
    QStringList frontends;
    QStringList backends;
    auto frontend = bindRouter(m_config.frontendEndpoints, frontends,
                               [this](Frames& frames) { onClientMessage(frames); });
    auto backend = bindRouter(m_config.backendEndpoints, backends,
                              [this](Frames& frames) { onWorkerMessage(frames); });
    m_frontend = std::move(frontend);
    m_backend = std::move(backend);
    frontendEndpoints = frontends;
    backendEndpoints = backends;
    m_heartbeatTimer.start();
    qCInfo(lcBroker).noquote() << "serving clients on" << frontends.join(QLatin1String(", "))
                               << "and workers on" << backends.join(QLatin1String(", "));
}

BrokerCounters Broker::Router::counters() const
{
    BrokerCounters counters = m_counters;
    counters.workers = m_workers.size();
    counters.services = m_services.size();
    counters.queuedRequests = m_queued;
    counters.requestsInFlight = m_inFlight;
    return counters;
}

// ---------------------------------------------------------------------------------------------
// Clients

void Broker::Router::onClientMessage(Frames& frames)
{
    if (m_shutDown) {
        return;
    }
    mdp::ClientMessage message;
    try {
        message = mdp::parseClientRequest(frames, 1);
    } catch (const ProtocolError& error) {
        onMalformedClientMessage(frames, error);
        return;
    }
    ++m_counters.requestsReceived;
    const auto serviceName = frameView(frames[message.serviceFrame]);
    if (MmiResponder::isMmi(serviceName)) {
        answerMmi(frames, message);
        return;
    }
    acceptRequest(m_services.findOrCreate(serviceName), frames, message);
    sweepServices();
}

void Broker::Router::acceptRequest(Service& service, Frames& frames,
                                   const mdp::ClientMessage& message)
{
    while (WorkerSession* worker = service.idleWorkers().popFront()) {
        if (dispatch(*worker, frames, message)) {
            if (worker->hasCapacity()) {
                service.idleWorkers().pushBack(*worker);
            }
            return;
        }
        removeWorker(*worker, rpc::errortype::kWorkerLost, "worker went away");
    }
    if (service.queue().size() >= m_config.maxQueuePerService) {
        ++m_counters.queueFull;
        replyError(frameView(frames[0]), message.version, service.name(),
                   requestIdOf(frames, message.bodyBegin), rpc::errortype::kQueueFull,
                   "service '" + service.name() + "' already has " +
                       std::to_string(service.queue().size()) + " requests waiting (--max-queue)");
        return;
    }
    // Move the frames, not the vector: the vector is the notifier's receive buffer, and taking
    // it would make the next receives grow a new one.
    Frames waiting;
    waiting.reserve(frames.size());
    std::move(frames.begin(), frames.end(), std::back_inserter(waiting));
    service.queue().push_back(
        {std::move(waiting), message, Clock::now() + m_config.requestTimeout});
    ++m_queued;
    if (!m_expiryTimer.isActive()) {
        m_expiryTimer.start();
    }
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
    countMalformed(error, false, peer);
    const auto version = mdp::clientVersionOf(frames, 1);
    if (!version) {
        return; // not MDP at all: there is no way to answer
    }
    // Both versions put the service name at frame 3 (after the identity).
    const auto service = frames.size() > 3 ? frameView(frames[3]) : std::string_view{};
    const bool serviceOk = error.kind() != ProtocolErrorKind::InvalidServiceName;
    replyError(peer, *version, serviceOk ? service : std::string_view{}, {},
               rpc::errortype::kMalformedRequest, error.what());
}

void Broker::Router::replyError(std::string_view clientIdentity, mdp::Version version,
                                std::string_view service, std::string_view requestId,
                                std::string_view type, std::string message, std::string detail)
{
    m_out.clear();
    m_out.emplace_back(clientIdentity.data(), clientIdentity.size());
    mdp::appendClientHeader(m_out, version, finalCommand(version));
    m_out.emplace_back(service.data(), service.size());
    rpc::appendErrorReply(m_out, requestId,
                          {std::string(type), std::move(message), std::move(detail)});
    deliverToClient();
}

void Broker::Router::deliverToClient()
{
    if (m_frontend->send(m_out) != ZmqSocketNotifier::SendResult::Sent) {
        // The client disconnected, or stopped reading and let its queue fill up.
        ++m_counters.clientUnreachable;
    }
}

// ---------------------------------------------------------------------------------------------
// Workers

void Broker::Router::onWorkerMessage(Frames& frames)
{
    if (m_shutDown || frames.empty()) {
        return;
    }
    const auto identity = frameView(frames[0]);
    auto found = m_workers.find(identity);
    mdp::WorkerMessage message;
    try {
        message = mdp::parseWorkerMessage(frames, 1);
    } catch (const ProtocolError& error) {
        countMalformed(error, true, identity);
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
            registerWorker(frames, message);
            break;
        case mdp::WorkerCommand::Disconnect:
            break; // nothing to forget
        default:
            // Valid but unexpected (e.g. a worker the broker purged, or one that never said
            // READY): RFC 7 says DISCONNECT, and the worker will reconnect and register again.
            ++m_counters.workersDisconnected;
            sendWorkerCommand(identity, message.version, mdp::WorkerCommand::Disconnect);
            break;
        }
        return;
    }

    WorkerSession& worker = found->second;
    if (message.version != worker.version()) {
        disconnectForViolation(worker, "changed MDP version mid-session");
    } else {
        worker.setExpiry(Clock::now() + m_config.heartbeatInterval * m_config.liveness);
        switch (message.command) {
        case mdp::WorkerCommand::Heartbeat:
            break;
        case mdp::WorkerCommand::Reply:
        case mdp::WorkerCommand::Partial:
        case mdp::WorkerCommand::Final:
            onWorkerAnswer(worker, frames, message);
            break;
        case mdp::WorkerCommand::Disconnect:
            removeWorker(worker, rpc::errortype::kWorkerLost,
                         "worker disconnected before answering");
            break;
        case mdp::WorkerCommand::Ready:
            disconnectForViolation(worker, "sent READY twice");
            break;
        case mdp::WorkerCommand::Request:
            disconnectForViolation(worker, "sent a REQUEST to the broker");
            break;
        }
    }
    sweepServices();
}

void Broker::Router::registerWorker(Frames& frames, const mdp::WorkerMessage& message)
{
    const auto identity = frameView(frames[0]);
    const auto serviceName = frameView(frames[message.serviceFrame]);
    if (MmiResponder::isMmi(serviceName)) {
        ++m_counters.workersDisconnected;
        qCWarning(lcBroker).noquote() << "refused worker" << printable(identity)
                                      << "for reserved service" << printable(serviceName);
        sendWorkerCommand(identity, message.version, mdp::WorkerCommand::Disconnect);
        return;
    }
    Service& service = m_services.findOrCreate(serviceName);
    auto [it, inserted] = m_workers.try_emplace(std::string(identity), std::string(identity),
                                                message.version, service);
    WorkerSession& worker = it->second;
    worker.setExpiry(Clock::now() + m_config.heartbeatInterval * m_config.liveness);
    service.addWorker();
    ++m_counters.workersRegistered;
    qCDebug(lcBroker).noquote() << "worker" << printable(identity) << "ready for"
                                << printable(serviceName) << "speaking"
                                << mdp::toString(message.version).data();
    makeAvailable(worker);
}

void Broker::Router::onWorkerAnswer(WorkerSession& worker, Frames& frames,
                                    const mdp::WorkerMessage& message)
{
    const auto client = frameView(frames[message.clientFrame]);
    auto& held = worker.inFlight();
    auto request = std::find_if(held.begin(), held.end(), [&](const InFlightRequest& r) {
        return r.clientIdentity == client;
    });
    if (request == held.end()) {
        disconnectForViolation(worker, held.empty() ? "answered without holding a request"
                                                    : "answered a request it does not hold");
        return;
    }
    const bool final = message.command != mdp::WorkerCommand::Partial;
    const Service& service = worker.service();

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
    }
    if (final) {
        held.erase(request);
        --m_inFlight;
        makeAvailable(worker);
    }
}

void Broker::Router::disconnectForViolation(WorkerSession& worker, std::string_view why)
{
    ++m_counters.workersDisconnected;
    std::uint64_t suppressed = 0;
    if (m_workerLog.admit(suppressed)) {
        qCWarning(lcBroker).nospace().noquote()
            << "disconnecting worker " << printable(worker.identity()) << " of service "
            << printable(worker.service().name()) << ": " << why.data()
            << (suppressed
                    ? qPrintable(
                          QStringLiteral(" (%1 similar messages suppressed)").arg(suppressed))
                    : "");
    }
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
    for (const auto& request : worker.inFlight()) {
        if (!request.streamRejected) {
            ++(errorType == rpc::errortype::kBrokerShutdown ? m_counters.shutdownErrors
                                                            : m_counters.workerLost);
            replyError(request.clientIdentity, request.clientVersion, service.name(),
                       request.requestId, errorType, message);
        }
        --m_inFlight;
    }
    service.idleWorkers().remove(worker);
    service.removeWorker();
    m_workers.erase(m_workers.find(worker.identity()));
    m_sweepNeeded = true;
}

// ---------------------------------------------------------------------------------------------
// Dispatch

bool Broker::Router::dispatch(WorkerSession& worker, Frames& frames,
                              const mdp::ClientMessage& message)
{
    auto& held = worker.inFlight();
    held.push_back({std::string(frameView(frames[0])),
                    std::string(requestIdOf(frames, message.bodyBegin)), message.version,
                    Clock::now(), false});

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
        if (!dispatch(worker, next.frames, next.message)) {
            removeWorker(worker, rpc::errortype::kWorkerLost, "worker went away");
            return;
        }
        queue.pop_front();
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
            << "purging worker " << printable(worker->identity()) << " of service "
            << printable(worker->service().name()) << ": it " << why;
        removeWorker(*worker, rpc::errortype::kWorkerLost,
                     std::string("worker ") + why + " and was purged");
    }
    sweepServices();
}

void Broker::Router::expireQueued()
{
    const auto now = Clock::now();
    const auto timeoutMs = std::to_string(m_config.requestTimeout.count());
    m_services.forEach([&](Service& service) {
        auto& queue = service.queue();
        while (!queue.empty() && queue.front().deadline <= now) {
            const QueuedRequest& request = queue.front();
            ++m_counters.expired;
            if (service.workerCount() == 0) {
                replyError(frameView(request.frames[0]), request.message.version, service.name(),
                           requestIdOf(request.frames, request.message.bodyBegin),
                           rpc::errortype::kServiceUnavailable,
                           "no worker for service '" + service.name() + "' within " + timeoutMs +
                               " ms");
            } else {
                replyError(frameView(request.frames[0]), request.message.version, service.name(),
                           requestIdOf(request.frames, request.message.bodyBegin),
                           rpc::errortype::kExpired,
                           "all " + std::to_string(service.workerCount()) +
                               " workers of service '" + service.name() + "' stayed busy for " +
                               timeoutMs + " ms");
            }
            queue.pop_front();
            --m_queued;
            m_sweepNeeded = true;
        }
    });
    if (m_queued == 0) {
        m_expiryTimer.stop();
    }
    sweepServices();
}

void Broker::Router::sweepServices()
{
    if (m_sweepNeeded) {
        m_sweepNeeded = false;
        m_services.forgetUnused();
    }
}

void Broker::Router::countMalformed(const ProtocolError& error, bool fromWorker,
                                    std::string_view peer)
{
    ++(fromWorker ? m_counters.malformedFromWorkers : m_counters.malformedFromClients);
    ++m_counters.malformedByKind[static_cast<std::size_t>(error.kind())];
    std::uint64_t suppressed = 0;
    if (m_malformedLog.admit(suppressed)) {
        qCWarning(lcBroker).nospace().noquote()
            << "dropped malformed message from " << (fromWorker ? "worker " : "client ")
            << printable(peer) << ": " << error.what()
            << (suppressed
                    ? qPrintable(
                          QStringLiteral(" (%1 similar messages suppressed)").arg(suppressed))
                    : "");
    }
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
    m_frontend->setReading(false);
    m_backend->setReading(false);

    qCInfo(lcBroker) << "shutting down: answering" << m_queued << "queued and" << m_inFlight
                     << "in-flight requests, disconnecting" << m_workers.size() << "workers";
    const std::string why = "the broker is shutting down";
    m_services.forEach([&](Service& service) {
        for (const QueuedRequest& request : service.queue()) {
            ++m_counters.shutdownErrors;
            replyError(frameView(request.frames[0]), request.message.version, service.name(),
                       requestIdOf(request.frames, request.message.bodyBegin),
                       rpc::errortype::kBrokerShutdown, why);
        }
        service.queue().clear();
    });
    m_queued = 0;
    while (!m_workers.empty()) {
        WorkerSession& worker = m_workers.begin()->second;
        sendWorkerCommand(worker.identity(), worker.version(), mdp::WorkerCommand::Disconnect);
        removeWorker(worker, rpc::errortype::kBrokerShutdown, why);
    }
    m_services.forgetUnused();
    // What was just sent still goes out while the context lives, for up to the linger time.
    m_frontend->close(kShutdownLinger);
    m_backend->close(kShutdownLinger);
    qCInfo(lcBroker) << "shut down";
}

} // namespace switchboard
