#include <switchboard/monitoring/adminprotocol.h>

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/error.h>
#include <switchboard/protocol/payload.h>

#include <msgpack.hpp>

namespace switchboard::admin {

namespace {

[[noreturn]] void fail(ProtocolErrorKind kind, const std::string& text)
{
    throw ProtocolError(kind, "admin " + text);
}

bool isPrintable(std::string_view bytes) noexcept
{
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string_view strView(const msgpack::object& object) noexcept
{
    return {object.via.str.ptr, object.via.str.size};
}

} // namespace

std::string_view requestIdOf(const Frames& frames, std::size_t first) noexcept
{
    // Not first + 1 >= size: for first == SIZE_MAX that wraps to 0 and names frame 0.
    if (first >= frames.size() || frames.size() - first < 2) {
        return {};
    }
    const auto id = frameView(frames[first + 1]);
    return id.size() <= kMaxRequestIdSize ? id : std::string_view{};
}

Request parseRequest(const Frames& frames, std::size_t first)
{
    if (first >= frames.size() || frameView(frames[first]) != kHeader) {
        fail(ProtocolErrorKind::UnknownProtocol,
             "request: the first frame must be \"" + std::string(kHeader) + "\"");
    }
    if (frames.size() - first < 4) {
        fail(ProtocolErrorKind::TooFewFrames,
             "request: expected header, request id, command and args, got " +
                 std::to_string(frames.size() - first) + " frames");
    }
    const Request request{first + 1, first + 2, first + 3};
    const auto id = frameView(frames[request.idFrame]);
    if (id.empty() || id.size() > kMaxRequestIdSize) {
        fail(ProtocolErrorKind::InvalidRequestId,
             "request: the request id must be 1 to 255 bytes, got " + std::to_string(id.size()));
    }
    const auto command = frameView(frames[request.commandFrame]);
    if (command.empty() || command.size() > kMaxCommandSize || !isPrintable(command)) {
        fail(ProtocolErrorKind::UnknownCommand,
             "request: the command must be 1 to 64 printable bytes");
    }
    return request;
}

Frames makeRequest(std::string_view id, std::string_view command, zmq::message_t args)
{
    Frames frames;
    frames.reserve(4);
    frames.emplace_back(kHeader.data(), kHeader.size());
    frames.emplace_back(id.data(), id.size());
    frames.emplace_back(command.data(), command.size());
    frames.push_back(std::move(args));
    return frames;
}

void appendReply(Frames& out, std::string_view id, Status status, zmq::message_t payload)
{
    const auto statusByte = static_cast<char>(status);
    out.emplace_back(kHeader.data(), kHeader.size());
    out.emplace_back(id.data(), id.size());
    out.emplace_back(&statusByte, 1);
    out.push_back(std::move(payload));
}

Reply parseReply(const Frames& frames)
{
    if (frames.empty() || frameView(frames[0]) != kHeader) {
        fail(ProtocolErrorKind::UnknownProtocol,
             "reply: the first frame must be \"" + std::string(kHeader) + "\"");
    }
    if (frames.size() < 4) {
        fail(ProtocolErrorKind::TooFewFrames,
             "reply: expected header, request id, status and payload, got " +
                 std::to_string(frames.size()) + " frames");
    }
    const auto status = frameView(frames[2]);
    if (status.size() != 1 || (status[0] != '\x00' && status[0] != '\x01')) {
        fail(ProtocolErrorKind::InvalidStatus, "reply: the status must be one byte, 0x00 or 0x01");
    }
    return {1, static_cast<Status>(status[0]), 3};
}

zmq::message_t encodeFailure(const Failure& failure)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(2);
    packer.pack(std::string_view("type"));
    packer.pack(failure.type);
    packer.pack(std::string_view("message"));
    packer.pack(failure.message);
    return zmq::message_t(buffer.data(), buffer.size());
}

Failure decodeFailure(const zmq::message_t& payload)
{
    const auto handle = rpc::unpackPayload(payload, "admin error payload");
    const msgpack::object& object = handle.get();
    if (object.type != msgpack::type::MAP) {
        fail(ProtocolErrorKind::InvalidPayload, "error payload: expected a map");
    }
    Failure failure;
    bool hasType = false;
    bool hasMessage = false;
    for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
        const auto& [key, value] = object.via.map.ptr[i];
        if (key.type != msgpack::type::STR || value.type != msgpack::type::STR) {
            continue;
        }
        if (strView(key) == "type") {
            failure.type = strView(value);
            hasType = true;
        } else if (strView(key) == "message") {
            failure.message = strView(value);
            hasMessage = true;
        }
    }
    if (!hasType || !hasMessage) {
        fail(ProtocolErrorKind::InvalidPayload,
             "error payload: expected str \"type\" and \"message\"");
    }
    return failure;
}

} // namespace switchboard::admin
