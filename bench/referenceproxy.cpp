#include "referenceproxy.h"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace switchboard::bench {

namespace {

// inproc names are global to a context; keep them unique across instances anyway.
std::string uniqueInprocName(const char* what)
{
    static std::atomic<int> counter{0};
    return std::string("inproc://bench-proxy-") + what + "-" + std::to_string(counter++);
}

} // namespace

ReferenceProxy::ReferenceProxy(zmq::context_t& context)
    : m_frontend(context, zmq::socket_type::router)
    , m_backend(context, zmq::socket_type::dealer)
    , m_controlIn(context, zmq::socket_type::pair)
    , m_controlOut(context, zmq::socket_type::pair)
    , m_backendEvents(context, zmq::socket_type::pair)
{
    for (zmq::socket_t* socket :
         {&m_frontend, &m_backend, &m_controlIn, &m_controlOut, &m_backendEvents}) {
        socket->set(zmq::sockopt::linger, 0);
    }
    m_frontend.bind("tcp://127.0.0.1:*");
    m_backend.bind("tcp://127.0.0.1:*");
    m_frontendEndpoint = m_frontend.get(zmq::sockopt::last_endpoint);
    m_backendEndpoint = m_backend.get(zmq::sockopt::last_endpoint);

    const std::string control = uniqueInprocName("control");
    m_controlIn.bind(control);
    m_controlOut.connect(control);

    const std::string events = uniqueInprocName("events");
    if (zmq_socket_monitor(m_backend.handle(), events.c_str(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED) !=
        0) {
        throw zmq::error_t();
    }
    m_backendEvents.connect(events);
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
    m_backendEvents.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    while (m_workersSeen < count) {
        // A monitor event is [16-bit event, 32-bit value][endpoint].
        zmq::message_t event;
        zmq::message_t endpoint;
        if (!m_backendEvents.recv(event) || !m_backendEvents.recv(endpoint)) {
            return false;
        }
        std::uint16_t id = 0;
        if (event.size() >= sizeof id) {
            std::memcpy(&id, event.data(), sizeof id);
        }
        if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            ++m_workersSeen;
        }
    }
    return true;
}

} // namespace switchboard::bench
