#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

namespace switchboard::detail {

// Wakes the callers that wait for any broker of a client to come up (BrokerSet::waitForUp).
class UpSignal {
public:
    std::uint64_t count() const
    {
        const std::lock_guard lock(m_mutex);
        return m_ups;
    }
    void notify()
    {
        {
            const std::lock_guard lock(m_mutex);
            ++m_ups;
        }
        m_changed.notify_all();
    }
    // Until a broker came up after count() returned `seen`, or `until`.
    void waitAfter(std::uint64_t seen, std::chrono::steady_clock::time_point until)
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait_until(lock, until, [&] { return m_ups != seen; });
    }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::uint64_t m_ups = 0;
};

// What the connections to one broker last saw of it, shared by every connection to it (the
// pooled ones and the I/O thread's): whichever reads its socket monitor tells the others, so
// that calls stop going to a broker as soon as any of them sees it drop.
class LinkStatus {
public:
    enum class State {
        Unknown, // no connection has got through a handshake yet
        Up,      // the latest news: a handshake succeeded
        Down,    // the latest news: a connection dropped or a handshake was refused
    };

    explicit LinkStatus(std::shared_ptr<UpSignal> signal = nullptr)
        : m_signal(std::move(signal))
    {}

    State state() const noexcept { return m_state.load(std::memory_order_relaxed); }
    void set(State state)
    {
        if (m_state.exchange(state, std::memory_order_relaxed) != state && state == State::Up &&
            m_signal) {
            m_signal->notify();
        }
    }

private:
    std::atomic<State> m_state{State::Unknown};
    std::shared_ptr<UpSignal> m_signal;
};

} // namespace switchboard::detail
