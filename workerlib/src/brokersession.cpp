#include "brokersession.h"

#include "errorreport.h"
#include "workercapacity.h"
#include "workercore.h"

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/polluntil.h>

#include <zmq_addon.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <iterator>
#include <string>

namespace switchboard::detail {

namespace {

using namespace std::chrono_literals;

// How long the last reply and the DISCONNECT may take to leave when the worker stops.
constexpr std::chrono::milliseconds kGoodbyeLinger = 500ms;
// PARTIALs a streaming handler may leave for the socket's owner before write() waits for the
// owner to send them, as it would wait for a full socket: a fast stream must not grow the worker
// without bound while the broker reads slowly. libzmq's default send high-water mark.
constexpr std::size_t kMaxOutbox = 1000;

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

// One request's way back to its client: the address and request id every answer repeats, and
// where a streaming handler's items go, one PARTIAL each.
class BrokerSession::StreamSink final : public ItemSink {
public:
    StreamSink(BrokerSession& session, zmq::message_t clientAddress, std::uint64_t receivedUnder)
        : client(std::move(clientAddress))
        , registration(receivedUnder)
        , m_session(session)
    {}

    void send(zmq::message_t item) override
    {
        Frames frames;
        frames.reserve(7);
        mdp::appendWorkerHeader(frames, m_session.m_version, mdp::WorkerCommand::Partial);
        frames.emplace_back(client.data(), client.size());
        frames.emplace_back();
        rpc::appendReply(frames, zmq::message_t(requestId.data(), requestId.size()),
                         rpc::Status::Ok, std::move(item));
        if (!m_session.deliver(frames, registration, false)) {
            throw Error("the worker lost its session with the broker; the stream cannot continue");
        }
    }

    // The client address is opaque (with credit, the client's identity and a tag of the
    // broker's): it goes back byte for byte.
    zmq::message_t client;
    zmq::message_t requestId;
    const std::uint64_t registration;

private:
    BrokerSession& m_session;
};

BrokerSession::BrokerSession(WorkerCore& core, std::string endpoint, WorkerCapacity* shared)
    : m_core(core)
    , m_shared(shared)
    , m_endpoint(std::move(endpoint))
    , m_version(core.options().protocol)
    // On several brokers one thread more than can run handlers, so that one is always free to
    // read the socket and decline at once what the worker has no room for.
    , m_threadCount(core.options().threads + (shared != nullptr ? 1 : 0))
    , m_capacity(core.capacity())
    , m_heartbeatInterval(core.options().heartbeatInterval)
    , m_brokerTimeout(core.options().heartbeatInterval * core.options().liveness)
    , m_backoff(core.options().reconnectMin)
{
    m_in.reserve(8);
}

BrokerSession::~BrokerSession()
{
    join();
    if (m_shared != nullptr) {
        m_shared->forget(*this);
    }
}

void BrokerSession::start()
{
    m_threads.reserve(static_cast<std::size_t>(m_threadCount));
    for (int i = 0; i < m_threadCount; ++i) {
        m_liveThreads.fetch_add(1, std::memory_order_relaxed);
        try {
            m_threads.emplace_back([this, i] {
                serveThread(i + 1);
                m_liveThreads.fetch_sub(1, std::memory_order_release);
            });
        } catch (...) {
            m_liveThreads.fetch_sub(1, std::memory_order_relaxed);
            throw;
        }
    }
}

void BrokerSession::retire() noexcept
{
    m_retiring.store(true, std::memory_order_release);
    m_doorbell.ring();
}

void BrokerSession::roomAgain() noexcept
{
    m_heartbeatOwed.store(true, std::memory_order_release);
    m_doorbell.ring();
}

void BrokerSession::handlerSlotFree() noexcept
{
    m_doorbell.ring();
}

void BrokerSession::contextEnded() noexcept
{
    // Nothing of the worker can go on without its context: on several brokers the resolver
    // would otherwise keep wait() waiting for a stop() that nobody calls.
    if (m_shared != nullptr) {
        m_core.stop();
    }
}

bool BrokerSession::startHandler()
{
    return m_shared == nullptr || m_shared->tryStartHandler(*this);
}

void BrokerSession::discardPending() noexcept
{
    if (m_shared != nullptr) {
        if (!m_pending.empty()) {
            m_shared->release(static_cast<int>(m_pending.size()));
        }
        m_shared->stopWaiting(*this); // else the line would wait for this session for ever
    }
    m_pending.clear();
}

void BrokerSession::join()
{
    for (auto& thread : m_threads) {
        if (thread.joinable()) {
            thread.join();
        }
    }
}

void BrokerSession::serveThread(int number)
{
    m_core.enterSessionThread();
    Frames answer; // reused for this thread's answers
    answer.reserve(8);
    std::unique_lock lock(m_mutex);
    bool slot = false; // own() took a handler slot for the request it left
    while (!m_ended) {
        if (!m_pending.empty() && (slot || startHandler())) {
            slot = false;
            Request request = std::move(m_pending.front());
            m_pending.pop_front();
            ++m_running;
            wakeIdle(); // the socket this thread may just have given up, or the next request
            lock.unlock();
            bool answered = true;
            try {
                serve(request, answer, number);
            } catch (...) {
                answered = false; // out of memory while answering, most likely
            }
            if (m_shared != nullptr && !request.answered) {
                m_shared->release();
            }
            lock.lock();
            if (!answered && request.registration == m_registration) {
                // Start afresh, as when the broker is lost: it answers the request WorkerLost.
                m_lost = true;
                discardPending();
                if (m_owned) {
                    m_doorbell.ring();
                }
            }
            --m_running;
            if (m_shared != nullptr) {
                m_shared->handlerDone();
            }
            if (m_running == 0 && m_draining && m_owned) {
                m_doorbell.ring(); // the owner waits for the last answer to say goodbye
            }
        } else if (!m_owned) {
            m_owned = true;
            slot = own(lock);
        } else {
            ++m_idle;
            m_changed.wait(lock);
            --m_idle;
        }
    }
    if (slot) {
        m_shared->handlerDone();
    }
}

bool BrokerSession::own(std::unique_lock<std::mutex>& lock)
{
    bool slot = false;
    bool waitForSlot = false;
    for (;;) {
        if (m_lost || !m_socket) {
            // Whatever was still queued belongs to the old registration; the broker has answered
            // those requests WorkerLost by now, or will.
            dropRegistration();
            const bool retry = m_connections > 0;
            lock.unlock();
            bool ended = m_core.stopRequested() || m_retiring.load(std::memory_order_acquire) ||
                         (retry && !pauseBeforeReconnect());
            if (!ended) {
                try {
                    open();
                } catch (const zmq::error_t& error) {
                    // ETERM: the user terminated the context, nothing more to do. Anything else:
                    // the next round starts over with a new socket after the backoff.
                    ended = error.num() == ETERM;
                    if (ended) {
                        contextEnded();
                    }
                } catch (const std::exception&) {
                    // Out of memory, most likely: the same.
                }
            }
            lock.lock();
            if (ended) {
                dropRegistration();
                end();
                break;
            }
            continue;
        }
        if (!m_pending.empty()) {
            if (startHandler()) {
                slot = m_shared != nullptr;
                break; // this thread runs it; another idle one, if any, takes the socket over
            }
            waitForSlot = true; // until handlerSlotFree() rings
        } else {
            waitForSlot = false;
        }
        if (m_draining && m_running == 0 && m_outbox.empty() && m_pending.empty()) {
            sayGoodbye();
            end();
            break;
        }
        lock.unlock();
        const Outcome outcome = ownerTurn(waitForSlot);
        lock.lock();
        if (outcome == Outcome::Terminated) {
            contextEnded();
            dropRegistration();
            end();
            break;
        }
        if (outcome != Outcome::Continue) {
            m_lost = true;
        }
    }
    // Give the socket up. What the other threads left for it goes first, so that a stream's
    // items stay in order with what its thread sends itself from now on.
    if (m_socket && !m_lost) {
        try {
            m_lost = !flushOutbox(true);
        } catch (...) {
            m_lost = true;
        }
    }
    m_owned = false;
    return slot;
}

BrokerSession::Outcome BrokerSession::ownerTurn(bool waitForSlot) noexcept
{
    try {
        // Input before the stop check: a request that arrived with stop() is still answered.
        if (const Outcome outcome = takeIn(m_in, false); outcome != Outcome::Continue) {
            return outcome;
        }
        if (!flushOutbox(false) || !sendOwedHeartbeat(false)) {
            return Outcome::Lost;
        }
        if (!m_draining && (m_core.stopRequested() || m_retiring.load(std::memory_order_acquire))) {
            std::lock_guard lock(m_mutex);
            m_draining = true;
            return Outcome::Continue;
        }
        {
            std::lock_guard lock(m_mutex);
            if ((!m_pending.empty() && !waitForSlot) ||
                (m_draining && m_running == 0 && m_outbox.empty() && m_pending.empty())) {
                return Outcome::Continue;
            }
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
        zmq::pollitem_t items[] = {
            {m_socket->handle(), 0, ZMQ_POLLIN, 0},
            {nullptr, m_doorbell.fd(), ZMQ_POLLIN, 0},
            {nullptr, m_core.stopFd(), ZMQ_POLLIN, 0},
        };
        // Once stop() was seen its signal stays raised: polling it again would spin.
        (void)pollUntil(items, m_draining ? 2 : 3, std::min(m_nextHeartbeat, m_brokerExpiry));
        if ((items[1].revents & ZMQ_POLLIN) != 0) {
            m_doorbell.clear(); // the next turn sends the outbox, or notices the last answer
        }
        return Outcome::Continue;
    } catch (const zmq::error_t& error) {
        return error.num() == ETERM ? Outcome::Terminated : Outcome::Lost;
    } catch (...) {
        return Outcome::Lost;
    }
}

void BrokerSession::open()
{
    ++m_connections;
    zmq::socket_t socket(m_core.context(), zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    // Counted per broker by the core, not by this session: a broker that left its name and came
    // back gets a new session while the old one may still be connected to it.
    if (const auto id = routingId(m_core.takeConnectionNumber(m_endpoint)); !id.empty()) {
        socket.set(zmq::sockopt::routing_id, id);
    }
    // A send that blocks this long finds a broker that stopped reading: the session is lost.
    socket.set(zmq::sockopt::sndtimeo, clampedMilliseconds(m_brokerTimeout));
    if (m_shared != nullptr && m_endpoint.starts_with("tcp://[")) {
        socket.set(zmq::sockopt::ipv6, 1); // one address of a name, as BrokerEndpoints wrote it
    }
    m_core.options().curve.apply(socket);
    socket.connect(m_endpoint);

    // A plain READY for a capacity of 1, so that nothing changes on the wire for a worker that
    // holds one request at a time, and once a broker refused the credit extension. On several
    // brokers the credit frame always goes: only a broker that took it may be sent DECLINE.
    const bool announce = !m_plainReady && (m_capacity > 1 || m_shared != nullptr);
    const int credit = announce ? m_capacity : 0;
    Frames ready = mdp::makeWorkerReady(m_version, m_core.service(), credit);
    {
        std::lock_guard lock(m_mutex);
        m_socket = std::move(socket);
        m_credit = std::max(credit, 1);
    }
    m_creditAnnounced = announce;
    m_heartbeatOwed.store(false, std::memory_order_relaxed); // a new READY owes nothing
    m_heard = false;
    m_accepted = false;
    // A fresh socket queues without blocking; were READY refused, the broker's silence would
    // tell and the session would start over.
    (void)sendFrames(ready, false);
    const auto now = Clock::now();
    m_nextHeartbeat = now + m_heartbeatInterval;
    m_brokerExpiry = now + m_brokerTimeout;
}

std::string BrokerSession::routingId(int attempt) const
{
    // Only a name the user chose: two workers of one process share the default "host:pid", and
    // a ROUTER lets in only the first connection with a given routing id. For the same reason a
    // reconnect gets a new id: the broker may not have dropped the old connection yet.
    const auto& options = m_core.options();
    if (options.identity.empty()) {
        return {};
    }
    std::string id = options.identity;
    if (attempt > 0) {
        id += "#" + std::to_string(attempt + 1);
    }
    return id;
}

void BrokerSession::closeSocket(std::chrono::milliseconds linger) noexcept
{
    if (m_socket) {
        try {
            m_socket->set(zmq::sockopt::linger, static_cast<int>(linger.count()));
        } catch (const zmq::error_t&) {
            // ETERM: the context is ending, and zmq_close() still works.
        }
        m_socket.reset();
    }
}

void BrokerSession::dropRegistration() noexcept
{
    closeSocket(0ms);
    ++m_registration; // answers still being computed for it are dropped
    discardPending();
    m_outbox.clear();
    m_held = 0;
    m_lost = false;
    m_outboxSpace.notify_all();
}

void BrokerSession::sayGoodbye() noexcept
{
    try {
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
    closeSocket(m_heard ? kGoodbyeLinger : 0ms);
}

void BrokerSession::end() noexcept
{
    closeSocket(0ms);
    m_ended = true;
    ++m_registration;
    discardPending();
    m_outbox.clear();
    m_changed.notify_all();
    m_outboxSpace.notify_all();
}

void BrokerSession::wakeIdle() noexcept
{
    if (m_idle > 0 && (!m_pending.empty() || !m_owned)) {
        m_changed.notify_one();
    }
}

bool BrokerSession::pauseBeforeReconnect()
{
    // The doorbell too: retire() rings it, and a broker that left its name is not waited for.
    zmq::pollitem_t items[] = {
        {nullptr, m_core.stopFd(), ZMQ_POLLIN, 0},
        {nullptr, m_doorbell.fd(), ZMQ_POLLIN, 0},
    };
    const auto until = Clock::now() + m_backoff;
    m_backoff = std::min(m_backoff * 2, m_core.options().reconnectMax);
    try {
        while (!m_retiring.load(std::memory_order_acquire) && pollUntil(items, 2, until) &&
               (items[0].revents & ZMQ_POLLIN) == 0) {
            m_doorbell.clear(); // an answer of the lost registration, dropped already
        }
    } catch (const zmq::error_t&) {
        // poll() on two eventfds failed (out of memory): no pause this time.
    }
    return !m_core.stopRequested() && !m_retiring.load(std::memory_order_acquire);
}

BrokerSession::Outcome BrokerSession::takeIn(Frames& buffer, bool locked)
{
    for (;;) {
        buffer.clear();
        if (!zmq::recv_multipart(*m_socket, std::back_inserter(buffer),
                                 zmq::recv_flags::dontwait)) {
            return Outcome::Continue;
        }
        if (const Outcome outcome = onMessage(buffer, locked); outcome != Outcome::Continue) {
            return outcome;
        }
    }
}

BrokerSession::Outcome BrokerSession::onMessage(Frames& frames, bool locked)
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
        m_accepted = true;
        return Outcome::Continue;
    case mdp::WorkerCommand::Disconnect:
        // A strict MDP broker refuses the READY's credit frame (docs/PROTOCOL.md 11.1).
        if (m_creditAnnounced && !m_accepted && !m_plainReady) {
            m_plainReady = true;
            m_core.log("the broker " + m_endpoint +
                       " answered READY with credit=" + std::to_string(m_credit) +
                       " with DISCONNECT, so it does not take the credit extension "
                       "(docs/PROTOCOL.md 11.1): registering with a plain MDP READY from now "
                       "on, one request at a time" +
                       (m_shared != nullptr ? "; it cannot be sent DECLINE, so its requests may "
                                              "wait at this worker while it is busy"
                                            : ""));
        }
        return Outcome::Disconnected;
    case mdp::WorkerCommand::Request:
        m_backoff = m_core.options().reconnectMin;
        m_accepted = true;
        return hold(frames, message, locked) ? Outcome::Continue : Outcome::Lost;
    default:
        return Outcome::Continue; // worker-to-broker commands: a broker does not send them
    }
}

bool BrokerSession::hold(Frames& frames, const mdp::WorkerMessage& message, bool locked)
{
    std::unique_lock lock(m_mutex, std::defer_lock);
    if (!locked) {
        lock.lock();
    }
    // Beyond the credit the broker broke its side of the bargain; such a request is not this
    // worker's to serve, as a plain MDP worker ignores a REQUEST while it holds one.
    if (m_held >= m_credit) {
        return true;
    }
    // After stop() the worker takes no more: on one broker its DISCONNECT tells the broker,
    // which answers them WorkerLost or gives the idempotent ones to another worker. On several,
    // a broker that took the credit frame gets each one back at once, for another worker.
    bool declined = false;
    if (m_draining) {
        declined = m_shared != nullptr && m_creditAnnounced;
        if (!declined) {
            return true;
        }
    } else if (m_shared != nullptr) {
        if (!m_creditAnnounced) {
            m_shared->holdAnyway(); // nowhere to send it back: it waits here
        } else {
            declined = !m_shared->tryHold(*this);
        }
    }
    if (declined) {
        if (lock.owns_lock()) {
            lock.unlock(); // the owner's socket: the answers of other threads need not wait
        }
        return decline(frames[message.clientFrame], locked);
    }
    ++m_held;
    m_pending.push_back(
        Request{std::move(frames), message.clientFrame, message.bodyBegin, m_registration});
    frames = Frames();
    frames.reserve(8);
    return true;
}

bool BrokerSession::decline(const zmq::message_t& clientAddress, bool locked)
{
    Frames message = mdp::makeWorkerDecline(m_version, frameView(clientAddress));
    // Under the lock this is the HeartbeatThread, which must never block: a full queue means
    // the broker stopped reading, and the session is lost anyway.
    if (!sendFrames(message, locked)) {
        return false;
    }
    m_nextHeartbeat = Clock::now() + m_heartbeatInterval;
    return true;
}

bool BrokerSession::sendOwedHeartbeat(bool dontwait)
{
    if (!m_heartbeatOwed.exchange(false, std::memory_order_acq_rel)) {
        return true;
    }
    Frames heartbeat = mdp::makeWorkerHeartbeat(m_version);
    if (!sendFrames(heartbeat, dontwait)) {
        m_heartbeatOwed.store(true, std::memory_order_relaxed); // the next turn tries again
        return dontwait;
    }
    m_nextHeartbeat = Clock::now() + m_heartbeatInterval;
    return true;
}

bool BrokerSession::flushOutbox(bool locked)
{
    {
        std::unique_lock lock(m_mutex, std::defer_lock);
        if (!locked) {
            lock.lock();
        }
        if (m_outbox.empty()) {
            return true;
        }
        m_sending.swap(m_outbox);
        m_outboxSpace.notify_all();
    }
    bool sent = true;
    for (Frames& message : m_sending) {
        if (!sendFrames(message, false)) {
            sent = false;
            break;
        }
    }
    m_sending.clear();
    m_nextHeartbeat = Clock::now() + m_heartbeatInterval;
    return sent;
}

void BrokerSession::serve(Request& request, Frames& answer, int number)
{
    Frames& frames = request.frames;
    StreamSink sink(*this, std::move(frames[request.clientFrame]), request.registration);
    const auto finish = [&](rpc::Status status, zmq::message_t payload) {
        answer.clear();
        mdp::appendWorkerHeader(answer, m_version,
                                m_version == mdp::Version::V01 ? mdp::WorkerCommand::Reply
                                                               : mdp::WorkerCommand::Final);
        answer.push_back(std::move(sink.client));
        answer.emplace_back();
        rpc::appendReply(answer, std::move(sink.requestId), status, std::move(payload));
        request.answered = true;
        (void)deliver(answer, request.registration, true);
    };

    rpc::RequestEnvelope envelope{};
    try {
        envelope = rpc::parseRequest(frames, request.bodyBegin);
    } catch (const ProtocolError& error) {
        // Echo the request id when it is one, as the broker does, so the client can match it.
        zmq::message_t& id = frames[request.bodyBegin];
        const bool usable = !id.empty() && id.size() <= rpc::kMaxRequestIdSize;
        sink.requestId = usable ? std::move(id) : zmq::message_t();
        finish(rpc::Status::Error,
               rpc::encodeError({std::string(kMalformedRequest), error.what(), {}}));
        return;
    }
    sink.requestId = std::move(frames[envelope.requestIdFrame]);
    const std::string_view method = frameView(frames[envelope.methodFrame]);

    if (method == kDescribeMethod) {
        const std::string_view description = m_core.description();
        finish(rpc::Status::Ok, zmq::message_t(description.data(), description.size()));
        return;
    }
    const Handler* handler = m_core.methods().find(method);
    if (handler == nullptr) {
        finish(rpc::Status::Error,
               rpc::encodeError({std::string(kNoSuchMethod),
                                 m_core.methods().noSuchMethodText(m_core.service(), method),
                                 {}}));
        return;
    }
    if (handler->streaming && m_version == mdp::Version::V01) {
        finish(rpc::Status::Error,
               rpc::encodeError({std::string(kStreamingUnsupported),
                                 "method '" + std::string(method) +
                                     "' streams its answer, which needs 18/MDP; this worker "
                                     "speaks 7/MDP (WorkerOptions::protocol)",
                                 {}}));
        return;
    }

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
            StreamWriter writer(sink);
            handler->streaming(unpacked.get(), writer);
            payload = packNil();
        }
    } catch (...) {
        const WorkerOptions& options = m_core.options();
        // The session's threads: on several brokers one more than `threads` per broker.
        const ErrorReport report{m_core.service(), method,        m_core.identity(),
                                 number,           m_threadCount, options.verboseErrors};
        status = rpc::Status::Error;
        payload = rpc::encodeError(report.ofCurrentException());
    }
    finish(status, std::move(payload));
}

bool BrokerSession::deliver(Frames& message, std::uint64_t registration, bool last)
{
    if (last && m_shared != nullptr) {
        // Before the broker hears of it, as m_held below; whatever became of the registration,
        // the handler is done with the request.
        m_shared->release();
    }
    std::unique_lock lock(m_mutex);
    if (last && registration == m_registration) {
        // Before the broker can hear of it: it may send the next REQUEST at once, and whoever
        // takes that in must find room for it.
        --m_held;
    }
    for (;;) {
        if (registration != m_registration || m_lost) {
            return false;
        }
        if (!m_owned) {
            break;
        }
        if (last || m_outbox.size() < kMaxOutbox) {
            if (m_outbox.empty()) {
                m_doorbell.ring();
            }
            m_outbox.push_back(std::move(message));
            return true;
        }
        m_outboxSpace.wait(lock);
    }
    // Nobody owns the socket: the other threads run handlers too, or wait for this one.
    bool sent = false;
    try {
        sent = m_socket && sendFrames(message, false);
    } catch (const zmq::error_t&) {
        // ETERM, or the socket failed: the same as a broker that stopped reading.
    }
    if (!sent) {
        m_lost = true;
        discardPending();
        return false;
    }
    m_nextHeartbeat = Clock::now() + m_heartbeatInterval;
    return true;
}

void BrokerSession::keepAlive(Clock::time_point now, Clock::duration slack) noexcept
{
    std::unique_lock lock(m_mutex, std::try_to_lock);
    // Contended: a thread is sending, which counts as a heartbeat; try again next tick.
    if (!lock.owns_lock() || m_owned || m_lost || m_ended || !m_socket) {
        return;
    }
    try {
        // The same path as the owner's: REQUESTs wait for the next thread that returns.
        Frames frames;
        if (takeIn(frames, true) != Outcome::Continue || now >= m_brokerExpiry ||
            !sendOwedHeartbeat(true)) {
            // A DISCONNECT or silence ends the registration once a handler returns.
            m_lost = true;
            discardPending();
            return;
        }
        // As the owner does: what was taken in before stop() was noticed is answered, nothing
        // after. Otherwise, under load with more credit than threads, every answer would bring
        // another request and the worker would never get to stop.
        if (m_core.stopRequested() || m_retiring.load(std::memory_order_acquire)) {
            m_draining = true;
        }
        wakeIdle();
        if (now + slack >= m_nextHeartbeat) {
            Frames heartbeat = mdp::makeWorkerHeartbeat(m_version);
            // Never block here: a thread that returns from its handler waits for this one. A
            // full queue means the broker is not reading, and its silence will tell.
            if (sendFrames(heartbeat, true)) {
                m_nextHeartbeat = now + m_heartbeatInterval;
            }
        }
    } catch (...) {
        m_lost = true;
        discardPending();
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
