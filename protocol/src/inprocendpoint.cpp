#include <switchboard/protocol/inprocendpoint.h>

#include <atomic>
#include <cstdint>

namespace switchboard {

std::string uniqueInprocEndpoint(std::string_view purpose)
{
    static std::atomic<std::uint64_t> counter{0};
    std::string endpoint = "inproc://switchboard.";
    endpoint += purpose;
    endpoint += '.';
    endpoint += std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    return endpoint;
}

} // namespace switchboard
