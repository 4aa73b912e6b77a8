#pragma once

#include "threadcpuclock.h"

#include <switchboard/protocol/socketmonitor.h>

#include <zmq.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace switchboard::bench {

// libzmq's own zmq_proxy_steerable (ROUTER frontend -> DEALER backend) on a thread of its own,
// bound to tcp://127.0.0.1 on ports the system picks: the ceiling the broker is compared with.
class ReferenceProxy {
public:
    // Binds both sockets; the proxy starts forwarding with start().
    explicit ReferenceProxy(zmq::context_t& context);
    ~ReferenceProxy(); // stop()

    ReferenceProxy(const ReferenceProxy&) = delete;
    ReferenceProxy& operator=(const ReferenceProxy&) = delete;

    void start();
    // The CPU clock of the proxy's thread, from start() until stop().
    ThreadCpuClock cpuClock() { return ThreadCpuClock(m_thread.native_handle()); }
    // Sends TERMINATE on the control socket and joins. Safe to call twice.
    void stop();

    // Returns once `count` peers have completed the ZMTP handshake on the backend, as reported
    // by a socket monitor; false when that takes longer than `timeout`.
    [[nodiscard]] bool waitForWorkers(int count, std::chrono::milliseconds timeout);

    const std::string& frontendEndpoint() const noexcept { return m_frontendEndpoint; }
    const std::string& backendEndpoint() const noexcept { return m_backendEndpoint; }

private:
    zmq::socket_t m_frontend;
    zmq::socket_t m_backend;
    zmq::socket_t m_controlIn;     // used by the proxy thread
    zmq::socket_t m_controlOut;    // used by this thread
    SocketMonitor m_handshakes;    // counts m_workersSeen
    zmq::socket_t m_backendEvents; // reads m_backend's monitor, for m_handshakes
    std::string m_frontendEndpoint;
    std::string m_backendEndpoint;
    int m_workersSeen = 0;
    std::thread m_thread;
};

} // namespace switchboard::bench
