#include "threadcpuclock.h"

#include <cerrno>
#include <system_error>

namespace switchboard::bench {

ThreadCpuClock::ThreadCpuClock(pthread_t thread)
{
    if (const int error = pthread_getcpuclockid(thread, &m_clock); error != 0) {
        throw std::system_error(error, std::generic_category(), "pthread_getcpuclockid");
    }
}

std::chrono::nanoseconds ThreadCpuClock::used() const
{
    timespec time{};
    if (clock_gettime(m_clock, &time) != 0) {
        throw std::system_error(errno, std::generic_category(), "clock_gettime");
    }
    return std::chrono::seconds(time.tv_sec) + std::chrono::nanoseconds(time.tv_nsec);
}

} // namespace switchboard::bench
