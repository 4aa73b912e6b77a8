#pragma once

#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The admin protocol (docs/PROTOCOL.md, "Admin protocol"): what a monitor or an operator's
// script sends the broker's admin endpoint, and what it gets back.
//   request: ["SBADM1", request id, command, args]      args: a msgpack map
//   reply:   ["SBADM1", request id, status, payload]    status 0x00: payload is the result
//                                                        status 0x01: payload {"type", "message"}
// Both sides use these functions: the broker's AdminServer and the monitoring library's
// AdminClient.
namespace switchboard::admin {

inline constexpr std::string_view kHeader = "SBADM1";
inline constexpr std::size_t kMaxRequestIdSize = 255;
inline constexpr std::size_t kMaxCommandSize = 64;

namespace command {
inline constexpr std::string_view kSnapshot = "snapshot";
inline constexpr std::string_view kEvict = "evict";
} // namespace command

namespace errortype {
inline constexpr std::string_view kMalformedRequest = "MalformedRequest";
inline constexpr std::string_view kUnknownCommand = "UnknownCommand";
inline constexpr std::string_view kNoSuchWorker = "NoSuchWorker";
// A "snapshot" request for a format this broker does not write (snapshotcodec::kFormat).
inline constexpr std::string_view kIncompatibleVersion = "IncompatibleVersion";
} // namespace errortype

enum class Status : std::uint8_t { Ok = 0x00, Error = 0x01 };

struct Failure {
    std::string type;
    std::string message;

    bool operator==(const Failure&) const = default;
};

// A request located in its frames, from `first` on (after the ROUTER's identity frame and, for
// a REQ peer, its empty delimiter).
struct Request {
    std::size_t idFrame;
    std::size_t commandFrame;
    std::size_t argsFrame;
};

// The request id to echo for a message that may not parse: frame first + 1 when it is 1..255
// bytes, else empty. Never throws.
std::string_view requestIdOf(const Frames& frames, std::size_t first) noexcept;

// Header, request id (1..255 bytes), command (1..64 printable bytes) and an args frame. Frames
// after args are reserved and ignored. Throws ProtocolError. Args are not decoded here.
Request parseRequest(const Frames& frames, std::size_t first);

// ["SBADM1", id, command, args]: what a DEALER sends.
Frames makeRequest(std::string_view id, std::string_view command, zmq::message_t args);

// Appends ["SBADM1", id, status, payload] to `out`.
void appendReply(Frames& out, std::string_view id, Status status, zmq::message_t payload);

struct Reply {
    std::size_t idFrame;
    Status status;
    std::size_t payloadFrame;
};

// A reply as a DEALER receives it (from frame 0). Throws ProtocolError.
Reply parseReply(const Frames& frames);

zmq::message_t encodeFailure(const Failure& failure);
// A map with str "type" and "message"; other keys ignored. Throws ProtocolError.
Failure decodeFailure(const zmq::message_t& payload);

} // namespace switchboard::admin
