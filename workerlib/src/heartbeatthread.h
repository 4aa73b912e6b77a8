#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace switchboard::detail {

class BrokerSession;

// Keeps the worker's session alive towards the broker while every one of its threads runs a
// handler, so that handlers may block for any time without the broker purging the session. While
// a thread is idle it heartbeats itself; this one only steps in when none is.
class HeartbeatThread {
public:
    HeartbeatThread(BrokerSession& session, std::chrono::milliseconds heartbeatInterval);
    ~HeartbeatThread();

    HeartbeatThread(const HeartbeatThread&) = delete;
    HeartbeatThread& operator=(const HeartbeatThread&) = delete;

    void start();
    // Ends the thread and joins it. Call it after the session ended: until then a handler may
    // still need heartbeats.
    void stop();

private:
    void run();

    BrokerSession& m_session;
    std::chrono::steady_clock::duration m_tick;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace switchboard::detail
