#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace switchboard::detail {

// Keeps the worker's sessions alive towards their brokers while every one of a session's threads
// runs a handler, so that handlers may block for any time without a broker purging the session.
// While a thread is idle it heartbeats itself; this one only steps in when none is.
class HeartbeatThread {
public:
    // `tick(now, slack)` is called every quarter interval: BrokerSession::keepAlive() of every
    // session.
    using Tick = std::function<void(std::chrono::steady_clock::time_point now,
                                    std::chrono::steady_clock::duration slack)>;

    HeartbeatThread(Tick tick, std::chrono::milliseconds heartbeatInterval);
    ~HeartbeatThread();

    HeartbeatThread(const HeartbeatThread&) = delete;
    HeartbeatThread& operator=(const HeartbeatThread&) = delete;

    void start();
    // Ends the thread and joins it. Call it after the session ended: until then a handler may
    // still need heartbeats.
    void stop();

private:
    void run();

    Tick m_tick;
    std::chrono::steady_clock::duration m_period;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace switchboard::detail
