#pragma once

#include "methodtable.h"
#include "stopsignal.h"

#include <switchboard/worker.h>

#include <zmq.hpp>

#include <switchboard/protocol/brokerendpoints.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace switchboard::detail {

class HeartbeatThread;
class BrokerSession;
class WorkerCapacity;

// What a Worker is: its configuration and methods, and while it runs, its sessions with the
// brokers (with the threads that serve them) and the thread that keeps their heartbeats while
// handlers run. On several brokers also the capacity they share and a thread that resolves the
// brokers' names again every resolveInterval.
class WorkerCore {
public:
    // One broker, as given. `context` null: the core owns one. Throws as Worker's constructors
    // document.
    WorkerCore(zmq::context_t* context, std::string endpoint, std::string service,
               WorkerOptions options);
    // The brokers `endpoints` stand for (BrokerEndpoints); one endpoint that is not a host name
    // is one broker, as with the constructor above.
    WorkerCore(zmq::context_t* context, std::vector<std::string> endpoints, std::string service,
               WorkerOptions options);
    ~WorkerCore();

    WorkerCore(const WorkerCore&) = delete;
    WorkerCore& operator=(const WorkerCore&) = delete;

    void addHandler(Handler handler);
    void start();
    void stop() noexcept;
    void wait();

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
    // How many sockets were opened to `endpoint` before the one about to be: for its routing id.
    int takeConnectionNumber(const std::string& endpoint);

private:
    // Every session's BrokerSession::keepAlive(); the HeartbeatThread's tick.
    void keepAlive(std::chrono::steady_clock::time_point now,
                   std::chrono::steady_clock::duration slack) noexcept;
    struct Brokers {
        std::string one;
        std::unique_ptr<BrokerEndpoints> several;
    };
    static Brokers brokersOf(std::vector<std::string> endpoints);
    WorkerCore(zmq::context_t* context, Brokers brokers, std::string service,
               WorkerOptions options);

    // Under m_sessionsMutex: a started session for `endpoint`.
    void addSession(const std::string& endpoint);
    // The resolver thread: every resolveInterval, sessions for the brokers that appeared, and
    // retire() for those that left; joins the sessions that ended.
    void resolveLoop();
    void reapFinishedSessions();

    std::unique_ptr<zmq::context_t> m_ownContext;
    zmq::context_t& m_context;
    const std::string m_endpoint;               // one broker
    std::unique_ptr<BrokerEndpoints> m_brokers; // or several: null for one
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
    std::mutex m_joinMutex;                     // one wait() joins, the others wait for it
    std::unique_ptr<WorkerCapacity> m_capacity; // several brokers only; outlives the sessions

    // The sessions change only under it, by start(), the resolver, and wait() once the resolver
    // has ended.
    std::mutex m_sessionsMutex;
    std::vector<std::unique_ptr<BrokerSession>> m_sessions;
    std::thread m_resolver;
    std::mutex m_connectionsMutex; // m_connectionNumbers
    std::map<std::string, int> m_connectionNumbers;

    std::unique_ptr<HeartbeatThread> m_heartbeat; // after the sessions: destroyed before them
};

} // namespace switchboard::detail
