#pragma once

#include "brokerset.h"
#include "iothread.h"
#include "reply.h"

#include <switchboard/client.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace switchboard::detail {

// What a Client is behind its templates: blocking calls on the caller's thread over pooled
// connections, asynchronous calls on a lazily started I/O thread, each request to the broker
// the BrokerSet picks for it.
class ClientCore {
public:
    // `context` null: the core owns a context of its own.
    ClientCore(zmq::context_t* context, std::vector<std::string> endpoints, ClientOptions options);
    ~ClientCore();

    ClientCore(const ClientCore&) = delete;
    ClientCore& operator=(const ClientCore&) = delete;

    msgpack::object_handle call(CallRequest request);
    void callAsync(CallRequest request, IoThread::OnDone onDone);
    std::unique_ptr<StreamSource> openStream(CallRequest request);

    const std::vector<std::string>& endpoints() const noexcept { return m_brokers.configured(); }
    const ClientOptions& options() const noexcept { return m_options; }

private:
    PendingCall makeCall(CallRequest& request);
    // Sends the call's request over `connection` to `broker` and waits there until the call
    // ends or its answer is lost (the call backs off for a retry).
    static void attempt(PendingCall& call, const std::shared_ptr<RemoteBroker>& broker,
                        BrokerConnection& connection);
    IoThread& ioThread();

    // Declared first so that it is destroyed last: zmq_ctx_term waits for every socket.
    std::unique_ptr<zmq::context_t> m_ownContext;
    zmq::context_t& m_context;
    ClientOptions m_options;
    std::atomic<RequestId> m_nextRequestId{1};
    BrokerSet m_brokers;
    std::once_flag m_ioStarted;
    std::unique_ptr<IoThread> m_io;
};

} // namespace switchboard::detail
