#pragma once

#include "methodtable.h"
#include "stopsignal.h"

#include <switchboard/worker.h>

#include <zmq.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace switchboard::detail {

class HeartbeatThread;
class BrokerSession;

// What a Worker is: its configuration and methods, and while it runs, its session with the
// broker (with the threads that serve it) and the thread that keeps its heartbeats while
// handlers run.
class WorkerCore {
public:
    // `context` null: the core owns one. Throws as Worker's constructors document.
    WorkerCore(zmq::context_t* context, std::string endpoint, std::string service,
               WorkerOptions options);
    ~WorkerCore();

    WorkerCore(const WorkerCore&) = delete;
    WorkerCore& operator=(const WorkerCore&) = delete;

    void addHandler(Handler handler);
    void start();
    void stop() noexcept;
    void wait();

    const std::string& endpoint() const noexcept { return m_endpoint; }
    const std::string& service() const noexcept { return m_service; }
    const std::string& identity() const noexcept { return m_identity; }
    const WorkerOptions& options() const noexcept { return m_options; }
    // How many requests the worker holds at once: maxInFlight, or threads when it is unset.
    int capacity() const noexcept { return m_options.maxInFlight.value_or(m_options.threads); }
    zmq::context_t& context() noexcept { return m_context; }
    const MethodTable& methods() const noexcept { return m_methods; }
    std::string describe() const;

    // For the session.
    bool stopRequested() const noexcept { return m_stopRequested.load(std::memory_order_acquire); }
    int stopFd() const noexcept { return m_stopSignal.fd(); }
    // The describe payload, built once at start() when the methods are final.
    std::string_view description() const noexcept { return m_description; }
    // True on the threads of this worker's session (where handlers run).
    bool onSessionThread() const noexcept;
    // Marks the calling thread as one of this worker's session threads.
    void enterSessionThread() const noexcept;
    // Reports through WorkerOptions::log, or on stderr. Never throws.
    void log(std::string_view message) const noexcept;

private:
    std::unique_ptr<zmq::context_t> m_ownContext;
    zmq::context_t& m_context;
    const std::string m_endpoint;
    const std::string m_service;
    const WorkerOptions m_options;
    const std::string m_identity;
    MethodTable m_methods;
    std::string m_description;

    StopSignal m_stopSignal;
    std::atomic<bool> m_stopRequested{false};
    std::atomic<bool> m_started{false};

    std::mutex m_stateMutex; // m_running, and the session while it is created or cleared
    bool m_running = false;
    std::mutex m_joinMutex; // one wait() joins, the others wait for it
    std::unique_ptr<BrokerSession> m_session;
    std::unique_ptr<HeartbeatThread> m_heartbeat; // after m_session: destroyed before it
};

} // namespace switchboard::detail
