#include "doorbell.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace switchboard::detail {

Doorbell::Doorbell()
    : m_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (m_fd < 0) {
        throw std::system_error(errno, std::generic_category(), "switchboard::Worker: eventfd");
    }
}

Doorbell::~Doorbell()
{
    ::close(m_fd);
}

void Doorbell::ring() noexcept
{
    // A full counter (EAGAIN) is readable too, and EINTR cannot happen on a non-blocking eventfd.
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(m_fd, &one, sizeof one);
}

void Doorbell::clear() noexcept
{
    // One read resets the counter; EAGAIN means nobody rang.
    std::uint64_t count = 0;
    [[maybe_unused]] const auto read = ::read(m_fd, &count, sizeof count);
}

} // namespace switchboard::detail
