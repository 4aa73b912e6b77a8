#pragma once

#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

// The Majordomo Protocol, versions 0.1 (ZeroMQ RFC 7) and 0.2 (RFC 18), as seen on the wire.
// Every parser takes the index of the first MDP frame: 1 on a ROUTER socket (frame 0 is the
// peer identity), 0 on a DEALER. Parsers are strict and throw ProtocolError; they never copy.
namespace switchboard::mdp {

enum class Version : std::uint8_t { V01, V02 };

// Logical commands. The bytes on the wire differ between versions (READY is 0x01 in both,
// but HEARTBEAT is 0x04 in 0.1 and 0x05 in 0.2), so always read the header first.
enum class ClientCommand : std::uint8_t {
    Request,
    Reply,   // 7/MDP only
    Partial, // 18/MDP only
    Final,   // 18/MDP only
};

// The command that ends an answer to a client: 7/MDP's only REPLY, or 18/MDP's FINAL.
constexpr ClientCommand finalCommand(Version version) noexcept
{
    return version == Version::V01 ? ClientCommand::Reply : ClientCommand::Final;
}

enum class WorkerCommand : std::uint8_t {
    Ready,
    Request,
    Reply,   // 7/MDP only
    Partial, // 18/MDP only
    Final,   // 18/MDP only
    Heartbeat,
    Disconnect,
    Decline, // the credit extension (docs/PROTOCOL.md §11.2), worker to broker
};

inline constexpr std::string_view kClientHeaderV01 = "MDPC01";
inline constexpr std::string_view kClientHeaderV02 = "MDPC02";
inline constexpr std::string_view kWorkerHeaderV01 = "MDPW01";
inline constexpr std::string_view kWorkerHeaderV02 = "MDPW02";
inline constexpr std::size_t kMaxServiceNameSize = 255;
// The credit extension (docs/PROTOCOL.md §11.1): a READY may carry one more frame,
// "credit=N", to say the worker holds up to N requests at once.
inline constexpr std::string_view kCreditPrefix = "credit=";
inline constexpr int kMaxWorkerCredit = 1024;

// 1 to 255 bytes, none of them a control character: what every parser requires of a service.
bool isValidServiceName(std::string_view name) noexcept;

std::string_view toString(Version version) noexcept;
std::string_view toString(ClientCommand command) noexcept;
std::string_view toString(WorkerCommand command) noexcept;

// The byte that encodes a command in a version, or nullopt where the version lacks it (and, for
// clients of 7/MDP, which have no command frame at all).
std::optional<std::uint8_t> commandByte(Version version, ClientCommand command) noexcept;
std::optional<std::uint8_t> commandByte(Version version, WorkerCommand command) noexcept;

// A client message, located inside its frames.
struct ClientMessage {
    Version version;
    ClientCommand command;
    std::size_t serviceFrame;
    std::size_t bodyBegin; // index of the first body frame; there is always at least one
};

// What a client sends a broker: 7/MDP [empty, "MDPC01", service, body...] or
// 18/MDP ["MDPC02", 0x01, service, body...]. Throws ProtocolError.
ClientMessage parseClientRequest(const Frames& frames, std::size_t first);

// The MDP client version a message's header claims, whether or not the rest parses: lets a
// broker answer a malformed request in the client's own version. Never throws.
std::optional<Version> clientVersionOf(const Frames& frames, std::size_t first) noexcept;

// What a broker sends a client: 7/MDP REPLY, or 18/MDP PARTIAL/FINAL. The service frame is
// returned as sent, unchecked (see docs/PROTOCOL.md on MalformedRequest). Throws ProtocolError.
ClientMessage parseClientReply(const Frames& frames, std::size_t first);

// A worker-protocol message in either direction, located inside its frames. Fields that the
// command does not have are left at 0.
struct WorkerMessage {
    Version version;
    WorkerCommand command;
    std::size_t serviceFrame = 0; // READY
    int credit = 0;               // READY with the credit extension; 0 for a plain MDP READY
    std::size_t clientFrame = 0;  // REQUEST, REPLY, PARTIAL, FINAL, DECLINE
    std::size_t bodyBegin = 0;    // REQUEST, REPLY, PARTIAL, FINAL (at least one body frame)
};

// Any worker-protocol command of either version, with its exact shape checked (READY has a
// service frame and optionally a credit frame, HEARTBEAT and DISCONNECT nothing more,
// REQUEST/REPLY/PARTIAL/FINAL a non-empty client address followed by an empty delimiter, DECLINE
// a non-empty client address and nothing after it). Whether
// the command is allowed in the current dialog is the caller's business. Throws ProtocolError.
WorkerMessage parseWorkerMessage(const Frames& frames, std::size_t first);

// Builders append to a caller-owned vector so a broker can reuse one vector for every send.
// Client side: 7/MDP [empty, "MDPC01"] (no command frame), 18/MDP ["MDPC02", command byte].
// Throws std::invalid_argument for a command the version does not have.
void appendClientHeader(Frames& out, Version version, ClientCommand command);
// Worker side: 7/MDP [empty, "MDPW01", command byte], 18/MDP ["MDPW02", command byte].
void appendWorkerHeader(Frames& out, Version version, WorkerCommand command);

// Whole messages, for peers (clientlib, workerlib, tests) rather than the broker's hot path.
Frames makeClientRequest(Version version, std::string_view service, Frames body);
// `credit` 0 makes a plain MDP READY; 1..kMaxWorkerCredit adds the credit frame.
Frames makeWorkerReady(Version version, std::string_view service, int credit = 0);
// DECLINE (docs/PROTOCOL.md §11.2): hands back the request sent to `clientAddress`, which is the
// tagged address exactly as the broker's REQUEST carried it. Throws std::invalid_argument for an
// empty address.
Frames makeWorkerDecline(Version version, std::string_view clientAddress);
Frames makeWorkerHeartbeat(Version version);
Frames makeWorkerDisconnect(Version version);
// REPLY (0.1), PARTIAL or FINAL (0.2) from a worker: header, client address, empty, body.
Frames makeWorkerReply(Version version, WorkerCommand command, std::string_view clientAddress,
                       Frames body);

} // namespace switchboard::mdp
