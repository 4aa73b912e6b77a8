#include "stopsignal.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace switchboard::detail {

StopSignal::StopSignal()
    : m_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (m_fd < 0) {
        throw std::system_error(errno, std::generic_category(), "switchboard::Worker: eventfd");
    }
}

StopSignal::~StopSignal()
{
    ::close(m_fd);
}

void StopSignal::raise() noexcept
{
    // Nobody ever reads the counter, so it stays readable; a full counter (EAGAIN) is readable
    // too, and EINTR cannot happen on a non-blocking eventfd write.
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(m_fd, &one, sizeof one);
}

} // namespace switchboard::detail
