#pragma once

#include <pthread.h>

#include <chrono>
#include <ctime>

namespace switchboard::bench {

// The CPU clock of one thread: the user and system time it has used, readable from any thread
// of the process (pthread_getcpuclockid) for as long as that thread lives.
class ThreadCpuClock {
public:
    // Throws std::system_error.
    explicit ThreadCpuClock(pthread_t thread);
    static ThreadCpuClock ofCurrentThread() { return ThreadCpuClock(pthread_self()); }

    // The CPU time the thread has used so far. Throws std::system_error once it has ended.
    [[nodiscard]] std::chrono::nanoseconds used() const;

private:
    clockid_t m_clock{};
};

} // namespace switchboard::bench
