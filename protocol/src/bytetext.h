#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Pieces of ProtocolError texts shared by the MDP and envelope parsers. Only called once a
// message has been rejected, so they may allocate freely.
namespace switchboard::bytetext {

// A frame that did not match, fit for a log line: printable bytes as they are, the rest escaped,
// long frames cut, because the frame may be anything a peer sent.
inline std::string quoted(std::string_view bytes)
{
    constexpr std::size_t kShown = 32;
    constexpr char kHex[] = "0123456789abcdef";
    std::string text = "\"";
    for (std::size_t i = 0; i < bytes.size() && i < kShown; ++i) {
        const auto byte = static_cast<unsigned char>(bytes[i]);
        if (byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\') {
            text += static_cast<char>(byte);
        } else {
            text += "\\x";
            text += kHex[byte >> 4];
            text += kHex[byte & 0xf];
        }
    }
    text += '"';
    if (bytes.size() > kShown) {
        text += "... (" + std::to_string(bytes.size()) + " bytes)";
    }
    return text;
}

inline std::string hexByte(std::uint8_t byte)
{
    constexpr char kHex[] = "0123456789abcdef";
    return std::string{'0', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
}

// "(frame 4)": indexes count from frame 0 of the whole message, identity frame included, so they
// match what a packet capture or a debugger shows.
inline std::string frameRef(std::size_t index)
{
    return "(frame " + std::to_string(index) + ")";
}

inline std::string byteCount(std::size_t size)
{
    return std::to_string(size) + (size == 1 ? " byte" : " bytes");
}

// The first control byte (< 0x20 or 0x7f) in `bytes`, or bytes.size() when there is none. Service
// names and methods end up in logs, counter labels and the monitor's table, hence the rule.
inline std::size_t findControlByte(std::string_view bytes) noexcept
{
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto byte = static_cast<unsigned char>(bytes[i]);
        if (byte < 0x20 || byte == 0x7f) {
            return i;
        }
    }
    return bytes.size();
}

} // namespace switchboard::bytetext
