#pragma once

#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The RPC envelope carried in MDP bodies (docs/PROTOCOL.md has it byte by byte).
//   request: [request id, method, args]      args: a msgpack array
//            [request id, method, args, options]   options: a msgpack map (RequestOptions)
//   reply:   [request id, status, payload]   status 0x00: payload is the result (msgpack)
//                                            status 0x01: payload is a msgpack map
//                                                         {"type", "message", "detail"}
// In 18/MDP every PARTIAL carries one streamed item as an OK reply, and FINAL ends the stream.
namespace switchboard::rpc {

inline constexpr std::size_t kMaxRequestIdSize = 255;
inline constexpr std::size_t kMaxMethodSize = 255;

enum class Status : std::uint8_t { Ok = 0x00, Error = 0x01 };

// The method every Switchboard worker answers with a description of its service (workerlib's
// Worker::describe()). Methods with the "switchboard." prefix are reserved.
inline constexpr std::string_view kDescribeMethod = "switchboard.describe";
inline constexpr std::string_view kReservedMethodPrefix = "switchboard.";

// Error types the broker itself produces. Workers may use any other type name for their own.
namespace errortype {
inline constexpr std::string_view kServiceUnavailable = "ServiceUnavailable"; // no live worker
inline constexpr std::string_view kExpired = "Expired";       // waited longer than the timeout
inline constexpr std::string_view kQueueFull = "QueueFull";   // the service's queue is at its bound
inline constexpr std::string_view kWorkerLost = "WorkerLost"; // worker died or left mid-request
inline constexpr std::string_view kMalformedRequest = "MalformedRequest";
inline constexpr std::string_view kBrokerShutdown = "BrokerShutdown";
inline constexpr std::string_view kNotImplemented = "NotImplemented"; // unknown mmi.* service
inline constexpr std::string_view kStreamingUnsupported = "StreamingUnsupported";
} // namespace errortype

// A request envelope located inside its frames (from bodyBegin on). The options frame after
// args is for the broker (requestOptionsOf); frames after it are reserved and ignored.
struct RequestEnvelope {
    std::size_t requestIdFrame;
    std::size_t methodFrame;
    std::size_t argsFrame;
};

// The optional frame after args: what the client asks of the broker for this one call. A
// msgpack map {"timeout_ms": uint, "idempotent": bool}; both keys optional, unknown keys ignored.
struct RequestOptions {
    // Relative, since the clocks of client and broker differ: the broker starts it on receipt.
    std::optional<std::uint32_t> timeoutMs;
    // The client allows the broker to run it again on another worker if the first one dies.
    bool idempotent = false;

    bool operator==(const RequestOptions&) const = default;
};

// Where the options frame sits, counted from the first body frame.
inline constexpr std::size_t kOptionsOffset = 3;

zmq::message_t encodeRequestOptions(const RequestOptions& options);
// Throws ProtocolError (InvalidPayload) unless `bytes` are one msgpack map whose "timeout_ms",
// if present, is an integer from 1 to 2^32-1 and whose "idempotent", if present, is a boolean.
RequestOptions decodeRequestOptions(std::string_view bytes);
// The options of a request body: decoded from frame bodyBegin + kOptionsOffset when there is
// one, the defaults otherwise. Looks at no other frame. Throws ProtocolError.
RequestOptions requestOptionsOf(const Frames& frames, std::size_t bodyBegin);

// 1 to 255 bytes, none of them a control character: what parseRequest requires of a method.
bool isValidMethod(std::string_view method) noexcept;

// Strict: request id 1..255 bytes, method 1..255 printable bytes, args frame present and a
// msgpack array. Throws ProtocolError.
RequestEnvelope parseRequest(const Frames& frames, std::size_t bodyBegin);

// The method of a body for statistics: empty unless the body has an envelope-shaped method
// frame. Never throws and never decodes msgpack, so the broker can call it on every request.
std::string_view methodOf(const Frames& frames, std::size_t bodyBegin) noexcept;

struct ReplyEnvelope {
    std::size_t requestIdFrame;
    Status status;
    std::size_t payloadFrame;
};

// Throws ProtocolError.
ReplyEnvelope parseReply(const Frames& frames, std::size_t bodyBegin);

struct ErrorInfo {
    std::string type;
    std::string message;
    std::string detail; // empty when there is none (encoded as msgpack nil)

    bool operator==(const ErrorInfo&) const = default;
};

zmq::message_t encodeError(const ErrorInfo& error);
// Accepts a map with string "type" and "message" and an optional string or nil "detail"; keys in
// any order, unknown keys ignored. Throws ProtocolError (InvalidPayload).
ErrorInfo decodeError(const zmq::message_t& payload);

zmq::message_t encodeStatus(Status status);

void appendRequest(Frames& out, std::string_view requestId, std::string_view method,
                   zmq::message_t args);
// The same with the options frame after args.
void appendRequest(Frames& out, std::string_view requestId, std::string_view method,
                   zmq::message_t args, const RequestOptions& options);
void appendReply(Frames& out, zmq::message_t requestId, Status status, zmq::message_t payload);
// The frames of an error reply: [request id, 0x01, encodeError(error)].
void appendErrorReply(Frames& out, std::string_view requestId, const ErrorInfo& error);

} // namespace switchboard::rpc
