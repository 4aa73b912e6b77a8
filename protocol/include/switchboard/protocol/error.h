#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace switchboard {

// Root of every exception Switchboard throws, so users can catch all of them in one place.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What was wrong with a message that did not parse. Counted per kind by the broker, so the
// list is closed and ProtocolErrorKind::Count sizes the counter arrays.
enum class ProtocolErrorKind : std::uint8_t {
    TooFewFrames,         // fewer frames than the command needs
    TooManyFrames,        // more frames than a fixed-size command allows
    MissingEmptyFrame,    // 7/MDP leading empty frame, or the delimiter after a client address
    UnknownProtocol,      // header frame is not a MDP header this peer may send
    UnknownCommand,       // command frame is not one byte, or not a command of that version
    InvalidServiceName,   // empty, longer than 255 bytes, or with control characters
    InvalidClientAddress, // empty client address frame
    InvalidRequestId,     // RPC envelope: request id empty or longer than 255 bytes
    InvalidMethod,        // RPC envelope: method empty, longer than 255 bytes, or not printable
    InvalidStatus,        // RPC envelope: status frame is not one known byte
    InvalidPayload,       // RPC envelope: msgpack that does not decode as required
    InvalidCredit,        // READY's credit frame is not "credit=N" with N in 1..kMaxWorkerCredit
    Count
};

std::string_view toString(ProtocolErrorKind kind) noexcept;

// A message that does not follow the MDP or RPC-envelope grammar. The text says what was wrong
// and where ("7/MDP worker READY: expected 4 frames, got 3").
class ProtocolError : public Error {
public:
    ProtocolError(ProtocolErrorKind kind, const std::string& what);
    ProtocolErrorKind kind() const noexcept { return m_kind; }

private:
    ProtocolErrorKind m_kind;
};

} // namespace switchboard
