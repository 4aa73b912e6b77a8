#pragma once

#include <atomic>

namespace switchboard::detail {

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

    State state() const noexcept { return m_state.load(std::memory_order_relaxed); }
    void set(State state) noexcept { m_state.store(state, std::memory_order_relaxed); }

private:
    std::atomic<State> m_state{State::Unknown};
};

} // namespace switchboard::detail
