#pragma once

namespace switchboard::detail {

// How one thread wakes another that waits in zmq_poll (which takes raw file descriptors): ring()
// makes the descriptor readable until the waiter clear()s it, however often it was rung. Unlike
// StopSignal it is meant to be rung and cleared over and over.
class Doorbell {
public:
    // Throws std::system_error when the kernel refuses an eventfd.
    Doorbell();
    ~Doorbell();

    Doorbell(const Doorbell&) = delete;
    Doorbell& operator=(const Doorbell&) = delete;

    // Thread-safe; ringing a rung bell is harmless.
    void ring() noexcept;
    // For the waiter, before it looks at what it was woken for: a ring after clear() wakes it
    // again.
    void clear() noexcept;
    int fd() const noexcept { return m_fd; }

private:
    int m_fd;
};

} // namespace switchboard::detail
