#pragma once

#include "callname.h"

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/frames.h>

#include <msgpack.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace switchboard::detail {

// Request ids are 8 bytes, big-endian, from one counter per Client: unique among everything the
// client ever sent, so a late answer can never be taken for the answer to a newer request.
using RequestId = std::uint64_t;
inline constexpr std::size_t kRequestIdSize = 8;
std::array<char, kRequestIdSize> encodeRequestId(RequestId id) noexcept;

// The options frame of a request: the time left for it (at least 1 ms, at most what the frame
// holds) and whether the broker may run it again on another worker.
rpc::RequestOptions requestOptions(std::chrono::milliseconds timeLeft, bool idempotent) noexcept;

// Which request an answer from the broker belongs to.
struct ReplyAddress {
    RequestId requestId;
    bool final; // FINAL ends the call; a PARTIAL carries one streamed item
    std::size_t bodyBegin;
};

// The request an 18/MDP PARTIAL or FINAL answers, or nullopt for a message that cannot be
// attributed to any: not an 18/MDP answer, or a request id we never use (the broker answers
// a request it could not parse with an empty one).
[[nodiscard]] std::optional<ReplyAddress> addressOf(const Frames& frames) noexcept;

// An answer's envelope, checked.
struct ReplyContent {
    rpc::Status status = rpc::Status::Ok;
    msgpack::object_handle value; // Status::Ok
    rpc::ErrorInfo error;         // Status::Error
};

// Throws ProtocolError, its text prefixed with the call's name, for an envelope that does not
// parse: the answer is ours, so the caller learns that its call failed and why.
ReplyContent readReply(const Frames& frames, const ReplyAddress& address, const CallName& name);

bool isNil(const msgpack::object_handle& value) noexcept;

// The items of a stream as one msgpack array, which is what call() returns for a streaming
// method.
msgpack::object_handle joinItems(const std::vector<msgpack::object_handle>& items);

} // namespace switchboard::detail
