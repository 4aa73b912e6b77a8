#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

namespace switchboard::detail {

class BrokerSession;

// Keeps the sessions whose handlers are running alive towards the broker: one thread per worker,
// so that a handler may block for any time without the broker purging its session. Idle
// sessions heartbeat on their own thread; this one only looks at busy ones.
class HeartbeatThread {
public:
    HeartbeatThread(std::span<const std::unique_ptr<BrokerSession>> sessions,
                    std::chrono::milliseconds heartbeatInterval);
    ~HeartbeatThread();

    HeartbeatThread(const HeartbeatThread&) = delete;
    HeartbeatThread& operator=(const HeartbeatThread&) = delete;

    void start();
    // Ends the thread and joins it. Call it after the sessions ended: until then a handler may
    // still need heartbeats.
    void stop();

private:
    void run();

    std::span<const std::unique_ptr<BrokerSession>> m_sessions;
    std::chrono::steady_clock::duration m_tick;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace switchboard::detail
