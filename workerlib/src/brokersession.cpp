#include "brokersession.h"

#include "errorreport.h"
#include "workercore.h"

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/mdp.h>
#include <switchboard/protocol/polluntil.h>

#include <zmq_addon.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <iterator>

namespace switchboard::detail {

namespace {

using namespace std::chrono_literals;

// How long the last reply and the DISCONNECT may take to leave when the worker stops.
constexpr std::chrono::milliseconds kGoodbyeLinger = 500ms;

constexpr std::string_view kNoSuchMethod = "NoSuchMethod";
constexpr std::string_view kMalformedRequest = rpc::errortype::kMalformedRequest;
constexpr std::string_view kStreamingUnsupported = rpc::errortype::kStreamingUnsupported;

int clampedMilliseconds(std::chrono::steady_clock::duration duration)
{
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(duration).count();
    return static_cast<int>(std::clamp<std::int64_t>(ms, 0, INT_MAX));
}

// The arguments are only read during the handler call while their frame is alive, so msgpack
// may point into the frame instead of copying strings and binaries.
bool referenceAll(msgpack::type::object_type, std::size_t, void*)
{
    return true;
}

} // namespace

BrokerSession::BrokerSession(WorkerCore& core, int number)
    : m_core(core)
    , m_number(number)
    , m_version(core.options().protocol)
    , m_heartbeatInterval(core.options().heartbeatInterval)
    , m_brokerTimeout(core.options().heartbeatInterval * core.options().liveness)
    , m_backoff(core.options().reconnectMin)
{
    m_in.reserve(8);
    m_out.reserve(8);
}

BrokerSession::~BrokerSession()
{
    join();
}

void BrokerSession::start()
{
    m_thread = std::thread([this] { run(); });
}

void BrokerSession::join()
{
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void BrokerSession::run()
{
    m_core.enterSessionThread();
    while (!m_core.stopRequested()) {
        Outcome outcome = Outcome::Lost;
        try {
            open();
            outcome = serve();
        } catch (const zmq::error_t& error) {
            if (error.num() == ETERM) { // the user terminated the context: nothing more to do
                close(0ms);
                return;
            }
        } catch (const std::exception&) {
            // Out of memory, most likely: start over with a new socket after the backoff.
        }
        if (outcome == Outcome::Stopped) {
            sayGoodbye();
            return;
        }
        // Whatever was still queued belongs to the old registration; the broker has answered
        // those requests WorkerLost by now, or will.
        close(0ms);
        if (!pauseBeforeReconnect()) {
            return;
        }
    }
}

void BrokerSession::open()
{
    zmq::socket_t socket(m_core.context(), zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    if (const auto id = routingId(); !id.empty()) {
        socket.set(zmq::sockopt::routing_id, id);
    }
    ++m_connections;
    // A send that blocks this long finds a broker that stopped reading: the session is lost.
    socket.set(zmq::sockopt::sndtimeo, clampedMilliseconds(m_brokerTimeout));
    m_core.options().curve.apply(socket);
    socket.connect(m_core.endpoint());

    std::lock_guard lock(m_mutex);
    m_socket = std::move(socket);
    m_busy = false;
    m_lost = false;
    m_heard = false;
    Frames ready = mdp::makeWorkerReady(m_version, m_core.service());
    // A fresh socket queues without blocking; were READY refused, the broker's silence would
    // tell and the session would start over.
    (void)sendFrames(ready, false);
    const auto now = Clock::now();
    m_nextHeartbeat = now + m_heartbeatInterval;
    m_brokerExpiry = now + m_brokerTimeout;
}

std::string BrokerSession::routingId() const
{
    // Only a name the user chose: two workers of one process share the default "host:pid", and
    // a ROUTER lets in only the first connection with a given routing id. For the same reason a
    // reconnect gets a new id: the broker may not have dropped the old connection yet.
    const auto& options = m_core.options();
    if (options.identity.empty()) {
        return {};
    }
    std::string id = options.identity;
    if (options.threads > 1) {
        id += "/" + std::to_string(m_number + 1);
    }
    if (m_connections > 0) {
        id += "#" + std::to_string(m_connections + 1);
    }
    return id;
}

void BrokerSession::close(std::chrono::milliseconds linger) noexcept
{
    std::lock_guard lock(m_mutex);
    if (m_socket) {
        try {
            m_socket->set(zmq::sockopt::linger, static_cast<int>(linger.count()));
        } catch (const zmq::error_t&) {
            // ETERM: the context is ending, and zmq_close() still works.
        }
        m_socket.reset();
    }
}

void BrokerSession::sayGoodbye() noexcept
{
    try {
        std::lock_guard lock(m_mutex);
        if (m_socket) {
            Frames disconnect = mdp::makeWorkerDisconnect(m_version);
            (void)sendFrames(disconnect, true);
        }
    } catch (...) {
        // The context is ending under us (ETERM), or memory ran out: the broker will purge this
        // session after the liveness instead.
    }
    // Lingering for a broker that never answered this socket would only delay the context's
    // end: the DISCONNECT has nowhere to go.
    close(m_heard ? kGoodbyeLinger : 0ms);
}

bool BrokerSession::pauseBeforeReconnect()
{
    zmq::pollitem_t stop{nullptr, m_core.stopFd(), ZMQ_POLLIN, 0};
    const auto until = Clock::now() + m_backoff;
    m_backoff = std::min(m_backoff * 2, m_core.options().reconnectMax);
    try {
        (void)pollUntil(&stop, 1, until);
    } catch (const zmq::error_t&) {
        // poll() on one eventfd failed (out of memory): no pause this time.
    }
    return !m_core.stopRequested();
}

BrokerSession::Outcome BrokerSession::serve()
{
    zmq::pollitem_t items[] = {
        {m_socket->handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, m_core.stopFd(), ZMQ_POLLIN, 0},
    };
    for (;;) {
        // Input before the stop check: a request that arrived with stop() is still answered.
        if (const Outcome outcome = takeIn(m_in); outcome != Outcome::Continue) {
            return outcome;
        }
        if (m_core.stopRequested()) {
            return Outcome::Stopped;
        }
        const auto now = Clock::now();
        if (now >= m_brokerExpiry) {
            return Outcome::Lost;
        }
        if (now >= m_nextHeartbeat) {
            Frames heartbeat = mdp::makeWorkerHeartbeat(m_version);
            if (!sendFrames(heartbeat, false)) {
                return Outcome::Lost;
            }
            m_nextHeartbeat = now + m_heartbeatInterval;
        }
        (void)pollUntil(items, 2, std::min(m_nextHeartbeat, m_brokerExpiry));
    }
}

BrokerSession::Outcome BrokerSession::takeIn(Frames& buffer)
{
    for (;;) {
        buffer.clear();
        if (!zmq::recv_multipart(*m_socket, std::back_inserter(buffer),
                                 zmq::recv_flags::dontwait)) {
            return Outcome::Continue;
        }
        if (const Outcome outcome = onMessage(buffer); outcome != Outcome::Continue) {
            return outcome;
        }
    }
}

BrokerSession::Outcome BrokerSession::onMessage(Frames& frames)
{
    mdp::WorkerMessage message;
    try {
        message = mdp::parseWorkerMessage(frames, 0);
    } catch (const ProtocolError&) {
        return Outcome::Continue; // not from an MDP broker, or garbled: nothing to answer
    }
    if (message.version != m_version) {
        return Outcome::Continue;
    }
    // Now rather than when the caller woke up: a handler may have run since.
    m_brokerExpiry = Clock::now() + m_brokerTimeout;
    m_heard = true;
    switch (message.command) {
    case mdp::WorkerCommand::Heartbeat:
        m_backoff = m_core.options().reconnectMin;
        return Outcome::Continue;
    case mdp::WorkerCommand::Disconnect:
        return Outcome::Disconnected;
    case mdp::WorkerCommand::Request:
        // While busy none comes: the broker sends the next request only after this one's
        // answer. One that does all the same is not this session's to serve from here.
        if (m_busy) {
            return Outcome::Continue;
        }
        m_backoff = m_core.options().reconnectMin;
        return onRequest(frames, message);
    default:
        return Outcome::Continue; // worker-to-broker commands: a broker does not send them
    }
}

BrokerSession::Outcome BrokerSession::onRequest(Frames& frames, const mdp::WorkerMessage& message)
{
    m_client = std::move(frames[message.clientFrame]);
    rpc::RequestEnvelope envelope{};
    try {
        envelope = rpc::parseRequest(frames, message.bodyBegin);
    } catch (const ProtocolError& error) {
        // Echo the request id when it is one, as the broker does, so the client can match it.
        zmq::message_t& id = frames[message.bodyBegin];
        const bool usable = !id.empty() && id.size() <= rpc::kMaxRequestIdSize;
        m_requestId = usable ? std::move(id) : zmq::message_t();
        return finish(rpc::Status::Error,
                      rpc::encodeError({std::string(kMalformedRequest), error.what(), {}}));
    }
    m_requestId = std::move(frames[envelope.requestIdFrame]);
    const std::string_view method = frameView(frames[envelope.methodFrame]);

    if (method == kDescribeMethod) {
        const std::string_view description = m_core.description();
        return finish(rpc::Status::Ok, zmq::message_t(description.data(), description.size()));
    }
    const Handler* handler = m_core.methods().find(method);
    if (handler == nullptr) {
        return finish(rpc::Status::Error,
                      rpc::encodeError({std::string(kNoSuchMethod),
                                        m_core.methods().noSuchMethodText(m_core.service(), method),
                                        {}}));
    }
    if (handler->streaming && m_version == mdp::Version::V01) {
        return finish(rpc::Status::Error,
                      rpc::encodeError({std::string(kStreamingUnsupported),
                                        "method '" + std::string(method) +
                                            "' streams its answer, which needs 18/MDP; this "
                                            "worker speaks 7/MDP (WorkerOptions::protocol)",
                                        {}}));
    }

    setBusy();
    rpc::Status status = rpc::Status::Ok;
    zmq::message_t payload;
    try {
        const zmq::message_t& args = frames[envelope.argsFrame];
        // parseRequest walked the args without allocating: they are one complete array.
        const msgpack::object_handle unpacked =
            msgpack::unpack(args.data<char>(), args.size(), &referenceAll);
        if (handler->unary) {
            payload = handler->unary(unpacked.get());
        } else {
            StreamWriter writer(*this);
            handler->streaming(unpacked.get(), writer);
            payload = packNil();
        }
    } catch (...) {
        const WorkerOptions& options = m_core.options();
        const ErrorReport report{m_core.service(), method,          m_core.identity(),
                                 m_number,         options.threads, options.verboseErrors};
        status = rpc::Status::Error;
        payload = rpc::encodeError(report.ofCurrentException());
    }
    return finish(status, std::move(payload));
}

void BrokerSession::setBusy()
{
    std::lock_guard lock(m_mutex);
    m_busy = true;
    m_lost = false;
}

BrokerSession::Outcome BrokerSession::finish(rpc::Status status, zmq::message_t payload)
{
    m_out.clear();
    mdp::appendWorkerHeader(m_out, m_version,
                            m_version == mdp::Version::V01 ? mdp::WorkerCommand::Reply
                                                           : mdp::WorkerCommand::Final);
    m_out.push_back(std::move(m_client));
    m_out.emplace_back();
    rpc::appendReply(m_out, std::move(m_requestId), status, std::move(payload));

    std::lock_guard lock(m_mutex);
    const bool wasBusy = m_busy;
    m_busy = false;
    // Lost while the handler ran: the broker has answered the client WorkerLost already and
    // would take this reply from a stranger as a protocol violation. Drop it, start afresh.
    if (wasBusy && m_lost) {
        return Outcome::Lost;
    }
    if (!sendFrames(m_out, false)) {
        return Outcome::Lost;
    }
    m_nextHeartbeat = Clock::now() + m_heartbeatInterval;
    return Outcome::Continue;
}

void BrokerSession::send(zmq::message_t item)
{
    Frames frames;
    frames.reserve(7);
    mdp::appendWorkerHeader(frames, m_version, mdp::WorkerCommand::Partial);
    frames.emplace_back(m_client.data(), m_client.size());
    frames.emplace_back();
    rpc::appendReply(frames, zmq::message_t(m_requestId.data(), m_requestId.size()),
                     rpc::Status::Ok, std::move(item));

    std::lock_guard lock(m_mutex);
    if (m_lost) {
        throw Error("the worker lost its session with the broker; the stream cannot continue");
    }
    try {
        if (!sendFrames(frames, false)) {
            m_lost = true;
            throw Error("the broker stopped reading; the stream cannot continue");
        }
    } catch (const zmq::error_t& error) {
        m_lost = true;
        throw Error(std::string("the stream cannot continue: ") + error.what());
    }
    m_nextHeartbeat = Clock::now() + m_heartbeatInterval;
}

void BrokerSession::keepAlive(Clock::time_point now, Clock::duration slack) noexcept
{
    std::unique_lock lock(m_mutex, std::try_to_lock);
    // Contended: a StreamWriter is sending, which counts as a heartbeat; try again next tick.
    if (!lock.owns_lock() || !m_busy || m_lost || !m_socket) {
        return;
    }
    try {
        // The same path as between requests, but for REQUEST: a DISCONNECT ends the session
        // once the handler returns.
        Frames frames;
        if (takeIn(frames) != Outcome::Continue) {
            m_lost = true;
            return;
        }
        if (now >= m_brokerExpiry) {
            m_lost = true;
            return;
        }
        if (now + slack >= m_nextHeartbeat) {
            Frames heartbeat = mdp::makeWorkerHeartbeat(m_version);
            // Never block here: other sessions wait for this thread. A full queue means the
            // broker is not reading, and its silence will tell.
            if (sendFrames(heartbeat, true)) {
                m_nextHeartbeat = now + m_heartbeatInterval;
            }
        }
    } catch (...) {
        m_lost = true;
    }
}

bool BrokerSession::sendFrames(Frames& frames, bool dontwait)
{
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const int flags = (i + 1 < frames.size() ? ZMQ_SNDMORE : 0) | (dontwait ? ZMQ_DONTWAIT : 0);
        while (zmq_msg_send(frames[i].handle(), m_socket->handle(), flags) < 0) {
            const int error = zmq_errno();
            if (error == EAGAIN && i == 0) {
                return false; // nothing was queued; later frames of a message never block
            }
            if (error != EINTR) {
                throw zmq::error_t();
            }
        }
    }
    return true;
}

} // namespace switchboard::detail
