#pragma once

namespace switchboard::detail {

// A level-triggered "stop now" that any number of threads can poll as a plain file descriptor
// next to their ZeroMQ sockets (zmq_poll takes raw fds). Raised once, it stays readable, so every
// session wakes from the same write and none can miss it.
class StopSignal {
public:
    // Throws std::system_error when the kernel refuses an eventfd.
    StopSignal();
    ~StopSignal();

    StopSignal(const StopSignal&) = delete;
    StopSignal& operator=(const StopSignal&) = delete;

    // Thread-safe; raising twice is harmless.
    void raise() noexcept;
    int fd() const noexcept { return m_fd; }

private:
    int m_fd;
};

} // namespace switchboard::detail
