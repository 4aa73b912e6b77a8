#pragma once

#include <switchboard/worker.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace switchboard::detail {

// The methods a worker serves, by name. Filled before the worker starts and read-only after, so
// its sessions look methods up without locking.
class MethodTable {
public:
    // Throws std::invalid_argument for an invalid, reserved or repeated name, or a handler that
    // is neither unary nor streaming.
    void add(Handler handler);

    const Handler* find(std::string_view method) const noexcept;

    // The message of a NoSuchMethod error: names the service and lists what it does have.
    std::string noSuchMethodText(std::string_view service, std::string_view method) const;

    // The payload of the reserved describe method, packed with msgpack (see Worker::describe()).
    std::string describe(std::string_view service, std::string_view identity,
                         std::string_view version) const;

private:
    // Sorted, so describe() and error texts list methods in a stable order.
    std::map<std::string, Handler, std::less<>> m_handlers;
};

} // namespace switchboard::detail
