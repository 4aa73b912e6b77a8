#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace switchboard {

// A peer identity (or any frame) fit for a message or a log line: as it is when every byte is
// printable ASCII, else as hex (libzmq's generated identities are 5 binary bytes).
inline std::string printableIdentity(std::string_view bytes)
{
    const bool text = std::all_of(bytes.begin(), bytes.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
    if (text) {
        return std::string(bytes);
    }
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        hex += kDigits[byte >> 4];
        hex += kDigits[byte & 0x0f];
    }
    return hex;
}

} // namespace switchboard
