#include "reply.h"

#include <switchboard/protocol/error.h>
#include <switchboard/protocol/mdp.h>
#include <switchboard/protocol/payload.h>

#include <algorithm>
#include <memory>

namespace switchboard::detail {

std::array<char, kRequestIdSize> encodeRequestId(RequestId id) noexcept
{
    std::array<char, kRequestIdSize> bytes{};
    for (std::size_t i = kRequestIdSize; i-- > 0;) {
        bytes[i] = static_cast<char>(id & 0xffU);
        id >>= 8U;
    }
    return bytes;
}

rpc::RequestOptions requestOptions(std::chrono::milliseconds timeLeft, bool idempotent) noexcept
{
    const auto ms = std::clamp<std::int64_t>(timeLeft.count(), 1, UINT32_MAX);
    return {static_cast<std::uint32_t>(ms), idempotent};
}

std::optional<ReplyAddress> addressOf(const Frames& frames) noexcept
{
    mdp::ClientMessage message{};
    try {
        message = mdp::parseClientReply(frames, 0);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (message.version != mdp::Version::V02) {
        return std::nullopt;
    }
    const zmq::message_t& idFrame = frames[message.bodyBegin];
    if (idFrame.size() != kRequestIdSize) {
        return std::nullopt;
    }
    const auto* bytes = idFrame.data<unsigned char>();
    RequestId id = 0;
    for (std::size_t i = 0; i < kRequestIdSize; ++i) {
        id = (id << 8U) | bytes[i];
    }
    return ReplyAddress{id, message.command == mdp::ClientCommand::Final, message.bodyBegin};
}

ReplyContent readReply(const Frames& frames, const ReplyAddress& address, const CallName& name)
{
    try {
        const rpc::ReplyEnvelope envelope = rpc::parseReply(frames, address.bodyBegin);
        ReplyContent content;
        content.status = envelope.status;
        if (envelope.status == rpc::Status::Ok) {
            content.value = rpc::unpackPayload(frames[envelope.payloadFrame], "reply payload");
        } else {
            content.error = rpc::decodeError(frames[envelope.payloadFrame]);
        }
        return content;
    } catch (const ProtocolError& error) {
        throw ProtocolError(error.kind(), name.describe(error.what()));
    }
}

bool isNil(const msgpack::object_handle& value) noexcept
{
    return value.get().type == msgpack::type::NIL;
}

msgpack::object_handle joinItems(const std::vector<msgpack::object_handle>& items)
{
    auto zone = std::make_unique<msgpack::zone>();
    msgpack::object array;
    array.type = msgpack::type::ARRAY;
    array.via.array.size = static_cast<std::uint32_t>(items.size());
    array.via.array.ptr = nullptr;
    if (!items.empty()) {
        auto* elements = static_cast<msgpack::object*>(
            zone->allocate_align(sizeof(msgpack::object) * items.size()));
        for (std::size_t i = 0; i < items.size(); ++i) {
            // A deep copy into the new zone: each item's own zone dies with its handle.
            elements[i] = msgpack::object(items[i].get(), *zone);
        }
        array.via.array.ptr = elements;
    }
    return msgpack::object_handle(array, std::move(zone));
}

} // namespace switchboard::detail
