#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

// The client address a worker with credit is sent (docs/PROTOCOL.md §11.1): the client's
// identity followed by a 4-byte tag, so that two requests of one client at one worker have
// different addresses and their answers cannot be confused. The worker echoes it untouched.
namespace switchboard::taggedaddress {

inline constexpr std::size_t kTagSize = 4;

inline zmq::message_t make(std::string_view identity, std::uint32_t tag)
{
    zmq::message_t frame(identity.size() + kTagSize);
    auto* bytes = static_cast<unsigned char*>(frame.data());
    std::memcpy(bytes, identity.data(), identity.size());
    for (std::size_t i = 0; i < kTagSize; ++i) {
        bytes[identity.size() + i] = static_cast<unsigned char>(tag >> (8 * (kTagSize - 1 - i)));
    }
    return frame;
}

struct Parts {
    std::string_view identity;
    std::uint32_t tag;
};

// nullopt for an address too short to carry a tag.
inline std::optional<Parts> split(std::string_view address) noexcept
{
    if (address.size() <= kTagSize) {
        return std::nullopt;
    }
    const std::size_t at = address.size() - kTagSize;
    std::uint32_t tag = 0;
    for (std::size_t i = 0; i < kTagSize; ++i) {
        tag = (tag << 8) | static_cast<unsigned char>(address[at + i]);
    }
    return Parts{address.substr(0, at), tag};
}

} // namespace switchboard::taggedaddress
