#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchboard {

// Transparent hashing so that lookups by the std::string_view of a frame do not allocate.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept
    {
        return std::hash<std::string_view>{}(text);
    }
};

// Keyed by names that arrive in frames. Nodes never move, so pointers to values stay valid until
// their entry is erased.
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

} // namespace switchboard
