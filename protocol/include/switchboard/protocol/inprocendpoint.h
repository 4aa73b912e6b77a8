#pragma once

#include <string>
#include <string_view>

namespace switchboard {

// A fresh inproc endpoint, "inproc://switchboard.<purpose>.<n>", with n counted for the whole
// process. inproc names are per context, but one context may be shared by several brokers,
// clients, workers and the application itself, so a name must not be reused by any of them.
// Thread-safe; throws only std::bad_alloc.
[[nodiscard]] std::string uniqueInprocEndpoint(std::string_view purpose);

} // namespace switchboard
