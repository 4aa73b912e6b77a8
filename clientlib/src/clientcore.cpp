#include "clientcore.h"

#include "replyerrors.h"
#include "socketstream.h"

#include <switchboard/protocol/error.h>
#include <switchboard/protocol/mdp.h>

#include <optional>
#include <thread>

namespace switchboard::detail {

namespace {

// The broker would answer a bad name with MalformedRequest and an empty request id, which no
// caller could match to its call: say it here instead.
void checkNames(const CallName& name)
{
    if (!mdp::isValidServiceName(name.service)) {
        throw ProtocolError(ProtocolErrorKind::InvalidServiceName,
                            name.describe("invalid service name: 1 to 255 bytes expected, none "
                                          "of them a control character"));
    }
    if (!rpc::isValidMethod(name.method)) {
        throw ProtocolError(ProtocolErrorKind::InvalidMethod,
                            name.describe("invalid method name: 1 to 255 bytes expected, none "
                                          "of them a control character"));
    }
}

Frames makeRequest(const CallRequest& request, zmq::message_t args, RequestId id,
                   std::chrono::milliseconds timeout, bool idempotent)
{
    Frames frames;
    frames.reserve(7);
    mdp::appendClientHeader(frames, mdp::Version::V02, mdp::ClientCommand::Request);
    frames.emplace_back(request.service.data(), request.service.size());
    const auto idBytes = encodeRequestId(id);
    rpc::appendRequest(frames, std::string_view(idBytes.data(), idBytes.size()), request.method,
                       std::move(args), requestOptions(timeout, idempotent));
    return frames;
}

} // namespace

ClientCore::ClientCore(zmq::context_t* context, std::vector<std::string> endpoints,
                       ClientOptions options)
    : m_ownContext(context != nullptr ? nullptr : std::make_unique<zmq::context_t>())
    , m_context(context != nullptr ? *context : *m_ownContext)
    , m_options(options)
    , m_brokers(m_context, std::move(endpoints), m_options)
{
    if (m_brokers.configured().size() > 1 || m_brokers.brokers().size() > 1 ||
        m_brokers.resolves()) {
        // Now rather than with the first asynchronous call: its connections, one per broker and
        // always polled, are what notices at once that a broker went down (or came back) while
        // no call was looking; pick() trusts what they saw.
        (void)ioThread();
    }
}

ClientCore::~ClientCore()
{
    // The I/O thread first, while m_io still points at it: the callbacks it runs as it ends
    // the pending calls may start further calls, blocking ones on the pool among them.
    if (m_io) {
        m_io->stop();
    }
}

PendingCall ClientCore::makeCall(CallRequest& request)
{
    const RequestId id = m_nextRequestId.fetch_add(1, std::memory_order_relaxed);
    return PendingCall(std::string(request.service), std::string(request.method), id,
                       makeRequest(request, std::move(request.args), id,
                                   request.options.timeout.value_or(m_options.timeout),
                                   request.options.idempotent),
                       request.options, m_options, Clock::now());
}

msgpack::object_handle ClientCore::call(CallRequest request)
{
    checkNames({request.service, request.method});
    PendingCall call = makeCall(request);
    std::shared_ptr<RemoteBroker> previous;
    // A new call is like one backing off with its retry due now.
    while (!call.done()) {
        if (Clock::now() < call.wakeAt()) {
            // The retry's backoff: nothing is in flight, so there is nothing to listen to.
            std::this_thread::sleep_until(call.wakeAt());
        }
        if (!call.onTimer(Clock::now())) {
            continue; // the deadline passed: the call failed
        }
        std::shared_ptr<RemoteBroker> broker = m_brokers.pick(previous.get());
        if (!broker) {
            m_brokers.waitForUp(call.deadline());
            continue; // at the deadline, onTimer() fails the call
        }
        std::optional<SocketPool::Lease> connection(broker->pool().acquire());
        // Drops reported while the connection sat in the pool cannot have lost this request,
        // but they may be the first news that the broker is down: then another one is better.
        (void)(*connection)->takeDisconnects();
        if (broker->state() == LinkStatus::State::Down) {
            if (auto other = m_brokers.pick(broker.get(), false); other != broker) {
                connection.reset();
                broker = std::move(other);
                connection.emplace(broker->pool().acquire());
                (void)(*connection)->takeDisconnects();
            }
        }
        attempt(call, broker, **connection);
        previous = std::move(broker);
    }
    if (call.state() == PendingCall::State::Failed) {
        std::rethrow_exception(call.error());
    }
    return call.takeResult();
}

void ClientCore::attempt(PendingCall& call, const std::shared_ptr<RemoteBroker>& broker,
                         BrokerConnection& connection)
{
    const RemoteBroker::Load load(broker);
    Frames frames = call.takeRequest(broker->endpoint());
    connection.send(frames);
    while (call.state() == PendingCall::State::Waiting) {
        switch (connection.wait(call.wakeAt())) {
        case BrokerConnection::Event::Message:
            while (call.state() == PendingCall::State::Waiting && connection.receive(frames)) {
                const auto address = addressOf(frames);
                // Anything else is the late answer of an earlier call that used this
                // connection and gave up waiting, or moved to another broker.
                if (address && address->requestId == call.id()) {
                    call.onReply(frames, *address, Clock::now());
                }
            }
            break;
        case BrokerConnection::Event::Disconnected:
            call.onConnectionLost(Clock::now());
            break;
        case BrokerConnection::Event::AuthRefused:
            call.fail(authenticationRefused(call.name()));
            break;
        case BrokerConnection::Event::Timeout:
            (void)call.onTimer(Clock::now()); // fails the call at its deadline
            break;
        }
    }
}

void ClientCore::callAsync(CallRequest request, IoThread::OnDone onDone)
{
    std::exception_ptr invalid;
    try {
        checkNames({request.service, request.method});
    } catch (const ProtocolError&) {
        invalid = std::current_exception();
    }
    PendingCall call = makeCall(request);
    if (invalid) {
        call.fail(invalid);
    }
    ioThread().submit(std::move(call), std::move(onDone));
}

std::unique_ptr<StreamSource> ClientCore::openStream(CallRequest request)
{
    checkNames({request.service, request.method});
    const RequestId id = m_nextRequestId.fetch_add(1, std::memory_order_relaxed);
    // One broker for the whole stream: items already handed out cannot be asked for again.
    const auto timeout = request.options.timeout.value_or(m_options.timeout);
    std::shared_ptr<RemoteBroker> broker = m_brokers.pick();
    if (!broker) {
        m_brokers.waitForUp(deadlineAfter(Clock::now(), timeout));
        broker = m_brokers.pick(nullptr, false);
    }
    SocketPool::Lease connection = broker->pool().acquire();
    return std::make_unique<SocketStream>(
        RemoteBroker::Load(std::move(broker)), std::move(connection), std::string(request.service),
        std::string(request.method), id,
        makeRequest(request, std::move(request.args), id, timeout, false), timeout);
}

IoThread& ClientCore::ioThread()
{
    std::call_once(m_ioStarted,
                   [this] { m_io = std::make_unique<IoThread>(m_brokers, m_options); });
    return *m_io;
}

} // namespace switchboard::detail
