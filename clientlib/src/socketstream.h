#pragma once

#include "remotebroker.h"
#include "reply.h"
#include "socketpool.h"

#include <switchboard/client.h>

#include <chrono>
#include <string>

namespace switchboard::detail {

// A stream() in progress: it keeps one pooled connection for its whole life and reads the
// items from it as the caller asks for them. Streams are never retried: the items before a
// failure have already been handed out.
class SocketStream final : public StreamSource {
public:
    // Sends the request over `connection`, one of the pool of `broker`, which stays counted as
    // loaded until the stream is destroyed.
    SocketStream(RemoteBroker::Load broker, SocketPool::Lease connection, std::string service,
                 std::string method, RequestId id, Frames request,
                 std::chrono::milliseconds timeout);

    std::optional<msgpack::object_handle> next() override;

private:
    CallName name() const noexcept { return {m_service, m_method}; }

    RemoteBroker::Load m_broker; // before m_connection: the lease goes back to its pool first
    SocketPool::Lease m_connection;
    std::string m_service;
    std::string m_method;
    RequestId m_id;
    std::chrono::milliseconds m_timeout;
    bool m_ended = false;
    Frames m_frames;
};

} // namespace switchboard::detail
