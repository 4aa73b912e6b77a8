#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace switchboard::demo {

// Lets the demo's threads wait between calls (they pace a load, they do not synchronise) and
// wakes them all at once when the demo stops.
class Pacer {
public:
    // Waits for `duration` or until stop(); returns false once stopped.
    template <typename Rep, typename Period>
    bool wait(std::chrono::duration<Rep, Period> duration)
    {
        std::unique_lock lock(m_mutex);
        return !m_stopped.wait_for(lock, duration, [this] { return m_stop; });
    }

    bool stopped()
    {
        std::lock_guard lock(m_mutex);
        return m_stop;
    }

    void stop()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_stopped.notify_all();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_stopped;
    bool m_stop = false;
};

} // namespace switchboard::demo
