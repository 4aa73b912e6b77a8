#include "clientcore.h"

#include "replyerrors.h"
#include "socketstream.h"

#include <switchboard/protocol/error.h>
#include <switchboard/protocol/mdp.h>

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

ClientCore::ClientCore(zmq::context_t* context, std::string endpoint, ClientOptions options)
    : m_ownContext(context != nullptr ? nullptr : std::make_unique<zmq::context_t>())
    , m_context(context != nullptr ? *context : *m_ownContext)
    , m_endpoint(std::move(endpoint))
    , m_options(options)
    , m_pool(m_context, m_endpoint, m_options)
{}

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
    const SocketPool::Lease connection = m_pool.acquire();
    // Drops reported while the connection sat in the pool cannot have lost this request.
    (void)connection->takeDisconnects();
    Frames frames = call.takeRequest();
    connection->send(frames);
    while (!call.done()) {
        switch (connection->wait(call.wakeAt())) {
        case BrokerConnection::Event::Message:
            while (!call.done() && connection->receive(frames)) {
                const auto address = addressOf(frames);
                // Anything else is the late answer of an earlier call that used this
                // connection and gave up waiting.
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
            if (call.onTimer(Clock::now())) {
                frames = call.takeRequest();
                connection->send(frames);
            }
            break;
        }
    }
    if (call.state() == PendingCall::State::Failed) {
        std::rethrow_exception(call.error());
    }
    return call.takeResult();
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
    return std::make_unique<SocketStream>(
        m_pool.acquire(), std::string(request.service), std::string(request.method), id,
        makeRequest(request, std::move(request.args), id,
                    request.options.timeout.value_or(m_options.timeout), false),
        request.options.timeout.value_or(m_options.timeout));
}

IoThread& ClientCore::ioThread()
{
    std::call_once(m_ioStarted,
                   [this] { m_io = std::make_unique<IoThread>(m_context, m_endpoint, m_options); });
    return *m_io;
}

} // namespace switchboard::detail
