#include "referenceproxy.h"

#include <switchboard/protocol/inprocendpoint.h>
#include <switchboard/protocol/polluntil.h>

#include <pthread.h>

namespace switchboard::bench {

ReferenceProxy::ReferenceProxy(zmq::context_t& context)
    : m_frontend(context, zmq::socket_type::router)
    , m_backend(context, zmq::socket_type::dealer)
    , m_controlIn(context, zmq::socket_type::pair)
    , m_controlOut(context, zmq::socket_type::pair)
{
    for (zmq::socket_t* socket : {&m_frontend, &m_backend, &m_controlIn, &m_controlOut}) {
        socket->set(zmq::sockopt::linger, 0);
    }
    m_frontend.bind("tcp://127.0.0.1:*");
    m_backend.bind("tcp://127.0.0.1:*");
    m_frontendEndpoint = m_frontend.get(zmq::sockopt::last_endpoint);
    m_backendEndpoint = m_backend.get(zmq::sockopt::last_endpoint);

    const std::string control = uniqueInprocEndpoint("bench.proxy.control");
    m_controlIn.bind(control);
    m_controlOut.connect(control);

    m_handshakes.on(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, [this](const SocketEvent&) { ++m_workersSeen; });
    m_backendEvents = SocketMonitor::start(context, m_backend, m_handshakes.events());
}

ReferenceProxy::~ReferenceProxy()
{
    stop();
}

void ReferenceProxy::start()
{
    // The sockets move to the proxy thread here; starting a thread is a full memory barrier,
    // which is what libzmq asks for when a socket changes threads.
    m_thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "bench-proxy");
        zmq_proxy_steerable(m_frontend.handle(), m_backend.handle(), nullptr, m_controlIn.handle());
    });
}

void ReferenceProxy::stop()
{
    if (!m_thread.joinable()) {
        return;
    }
    m_controlOut.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none);
    m_thread.join();
}

bool ReferenceProxy::waitForWorkers(int count, std::chrono::milliseconds timeout)
{
    const auto until = std::chrono::steady_clock::now() + timeout;
    zmq::pollitem_t item{m_backendEvents.handle(), 0, ZMQ_POLLIN, 0};
    while (m_workersSeen < count) {
        if (pollUntil(&item, 1, until) == 0) {
            return false;
        }
        (void)m_handshakes.drain(m_backendEvents);
    }
    return true;
}

} // namespace switchboard::bench
