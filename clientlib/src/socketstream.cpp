#include "socketstream.h"

#include "replyerrors.h"

namespace switchboard::detail {

SocketStream::SocketStream(RemoteBroker::Load broker, SocketPool::Lease connection,
                           std::string service, std::string method, RequestId id, Frames request,
                           std::chrono::milliseconds timeout)
    : m_broker(std::move(broker))
    , m_connection(std::move(connection))
    , m_service(std::move(service))
    , m_method(std::move(method))
    , m_id(id)
    , m_timeout(timeout)
{
    // Drops reported before this request was sent cannot have lost it.
    (void)m_connection->takeDisconnects();
    m_connection->send(request);
}

std::optional<msgpack::object_handle> SocketStream::next()
{
    if (m_ended) {
        return std::nullopt;
    }
    // Whatever happens below ends the stream unless an item arrives.
    m_ended = true;
    const auto deadline = deadlineAfter(Clock::now(), m_timeout);
    for (;;) {
        switch (m_connection->wait(deadline)) {
        case BrokerConnection::Event::Timeout:
            std::rethrow_exception(timeoutError(name(), m_timeout, 1, "item"));
        case BrokerConnection::Event::Disconnected:
            std::rethrow_exception(connectionLost(name(), 1, m_broker.broker()->endpoint()));
        case BrokerConnection::Event::AuthRefused:
            std::rethrow_exception(authenticationRefused(name()));
        case BrokerConnection::Event::Message:
            break;
        }
        while (m_connection->receive(m_frames)) {
            const auto address = addressOf(m_frames);
            if (!address || address->requestId != m_id) {
                continue;
            }
            ReplyContent content = readReply(m_frames, *address, name());
            if (content.status == rpc::Status::Error) {
                std::rethrow_exception(
                    replyError(name(), content.error, 1, m_broker.broker()->endpoint()));
            }
            if (!address->final) {
                m_ended = false;
                return std::move(content.value);
            }
            // A method that answers with one value instead of streaming yields that value.
            if (isNil(content.value)) {
                return std::nullopt;
            }
            return std::move(content.value);
        }
    }
}

} // namespace switchboard::detail
