#pragma once

#include "iothread.h"
#include "reply.h"
#include "socketpool.h"

#include <switchboard/client.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace switchboard::detail {

// What a Client is behind its templates: blocking calls on the caller's thread over pooled
// connections, asynchronous calls on a lazily started I/O thread.
class ClientCore {
public:
    // `context` null: the core owns a context of its own.
    ClientCore(zmq::context_t* context, std::string endpoint, ClientOptions options);
    ~ClientCore();

    ClientCore(const ClientCore&) = delete;
    ClientCore& operator=(const ClientCore&) = delete;

    msgpack::object_handle call(CallRequest request);
    void callAsync(CallRequest request, IoThread::OnDone onDone);
    std::unique_ptr<StreamSource> openStream(CallRequest request);

    const std::string& endpoint() const noexcept { return m_endpoint; }
    const ClientOptions& options() const noexcept { return m_options; }

private:
    PendingCall makeCall(CallRequest& request);
    IoThread& ioThread();

    // Declared first so that it is destroyed last: zmq_ctx_term waits for every socket.
    std::unique_ptr<zmq::context_t> m_ownContext;
    zmq::context_t& m_context;
    std::string m_endpoint;
    ClientOptions m_options;
    std::atomic<RequestId> m_nextRequestId{1};
    SocketPool m_pool;
    std::once_flag m_ioStarted;
    std::unique_ptr<IoThread> m_io;
};

} // namespace switchboard::detail
