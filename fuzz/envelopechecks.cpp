#include "envelopechecks.h"

#include "fuzzframes.h"
#include "invariant.h"

#include <switchboard/protocol/error.h>
#include <switchboard/protocol/payload.h>

#include <msgpack.hpp>

namespace switchboard::fuzz {

namespace {

// At least `count` frames from `begin` on, without overflowing on begin == SIZE_MAX.
bool hasFrames(const Frames& frames, std::size_t begin, std::size_t count)
{
    return begin <= frames.size() && frames.size() - begin >= count;
}

bool isMsgpackOf(const Outcome<msgpack::object_handle>& unpacked, msgpack::type::object_type type)
{
    return unpacked && unpacked->get().type == type;
}

Outcome<msgpack::object_handle> unpacked(const zmq::message_t& frame)
{
    return parseOrReject("rpc::unpackPayload",
                         [&] { return rpc::unpackPayload(frame, "fuzzed frame"); });
}

} // namespace

void checkRequestEnvelope(const Frames& frames, std::size_t bodyBegin)
{
    const std::string_view method = rpc::methodOf(frames, bodyBegin); // noexcept
    if (!method.empty()) {
        FUZZ_REQUIRE(hasFrames(frames, bodyBegin, 3));
        // A view of the method frame itself, not a copy.
        const zmq::message_t& methodFrame = frames[bodyBegin + 1];
        FUZZ_REQUIRE(method.data() == methodFrame.data<char>());
        FUZZ_REQUIRE(method.size() == methodFrame.size());
        FUZZ_REQUIRE(rpc::isValidMethod(method));
    }

    const auto parsed =
        parseOrReject("rpc::parseRequest", [&] { return rpc::parseRequest(frames, bodyBegin); });
    if (!hasFrames(frames, bodyBegin, 3)) {
        FUZZ_REQUIRE(!parsed && method.empty());
        return;
    }
    // The broker checks args with parseRequest, a worker decodes them with unpackPayload: the two
    // must agree on which frames are one msgpack array.
    const auto args = unpacked(frames[bodyBegin + 2]);
    if (parsed) {
        FUZZ_REQUIRE(isMsgpackOf(args, msgpack::type::ARRAY));
    } else if (parsed.error == ProtocolErrorKind::InvalidPayload) {
        FUZZ_REQUIRE(!isMsgpackOf(args, msgpack::type::ARRAY));
    }
    if (!parsed) {
        return;
    }

    FUZZ_REQUIRE(parsed->requestIdFrame == bodyBegin);
    FUZZ_REQUIRE(parsed->methodFrame == bodyBegin + 1);
    FUZZ_REQUIRE(parsed->argsFrame == bodyBegin + 2);
    FUZZ_REQUIRE(parsed->argsFrame < frames.size());
    const std::string_view requestId = frameView(frames[parsed->requestIdFrame]);
    FUZZ_REQUIRE(!requestId.empty() && requestId.size() <= rpc::kMaxRequestIdSize);
    FUZZ_REQUIRE(method == frameView(frames[parsed->methodFrame]));

    Frames rebuilt;
    rpc::appendRequest(
        rebuilt, requestId, method,
        zmq::message_t(frames[parsed->argsFrame].data(), frames[parsed->argsFrame].size()));
    Frames envelope = copyFrames(frames, bodyBegin);
    envelope.resize(3); // frames after args are reserved and not part of what parsed
    FUZZ_REQUIRE(sameFrames(envelope, 0, rebuilt));
    const rpc::RequestEnvelope again = mustSucceed("rpc::parseRequest of appendRequest",
                                                   [&] { return rpc::parseRequest(rebuilt, 0); });
    FUZZ_REQUIRE(again.requestIdFrame == 0 && again.methodFrame == 1 && again.argsFrame == 2);
}

void checkReplyEnvelope(const Frames& frames, std::size_t bodyBegin)
{
    const auto parsed =
        parseOrReject("rpc::parseReply", [&] { return rpc::parseReply(frames, bodyBegin); });
    if (!parsed) {
        return;
    }
    FUZZ_REQUIRE(hasFrames(frames, bodyBegin, 3));
    FUZZ_REQUIRE(parsed->requestIdFrame == bodyBegin);
    FUZZ_REQUIRE(parsed->payloadFrame == bodyBegin + 2);
    FUZZ_REQUIRE(parsed->status == rpc::Status::Ok || parsed->status == rpc::Status::Error);
    const zmq::message_t& status = frames[bodyBegin + 1];
    FUZZ_REQUIRE(status.size() == 1 &&
                 *status.data<std::uint8_t>() == static_cast<std::uint8_t>(parsed->status));
    const zmq::message_t& requestId = frames[parsed->requestIdFrame];
    FUZZ_REQUIRE(requestId.size() <= rpc::kMaxRequestIdSize);
    const zmq::message_t& payload = frames[parsed->payloadFrame];

    Frames rebuilt;
    rpc::appendReply(rebuilt, zmq::message_t(requestId.data(), requestId.size()), parsed->status,
                     zmq::message_t(payload.data(), payload.size()));
    Frames envelope = copyFrames(frames, bodyBegin);
    envelope.resize(3);
    FUZZ_REQUIRE(sameFrames(envelope, 0, rebuilt));

    // What clientlib does next with the payload.
    if (parsed->status == rpc::Status::Error) {
        checkErrorPayload(payload);
    } else {
        (void)unpacked(payload);
    }
}

void checkErrorPayload(const zmq::message_t& payload)
{
    const auto decoded =
        parseOrReject("rpc::decodeError", [&] { return rpc::decodeError(payload); });
    if (!decoded) {
        FUZZ_REQUIRE(decoded.error == ProtocolErrorKind::InvalidPayload);
        return;
    }
    FUZZ_REQUIRE(isMsgpackOf(unpacked(payload), msgpack::type::MAP));
    checkErrorRoundTrip(*decoded, "1");
}

void checkErrorRoundTrip(const rpc::ErrorInfo& error, std::string_view requestId)
{
    const zmq::message_t encoded =
        mustSucceed("rpc::encodeError", [&] { return rpc::encodeError(error); });
    const rpc::ErrorInfo decoded =
        mustSucceed("rpc::decodeError of encodeError", [&] { return rpc::decodeError(encoded); });
    FUZZ_REQUIRE(decoded == error);

    Frames reply;
    rpc::appendErrorReply(reply, requestId, error);
    const auto parsed = parseOrReject("rpc::parseReply of appendErrorReply",
                                      [&] { return rpc::parseReply(reply, 0); });
    if (requestId.size() > rpc::kMaxRequestIdSize) {
        FUZZ_REQUIRE(parsed.error == ProtocolErrorKind::InvalidRequestId);
        return;
    }
    FUZZ_REQUIRE(parsed && parsed->status == rpc::Status::Error);
    FUZZ_REQUIRE(frameView(reply[parsed->requestIdFrame]) == requestId);
    FUZZ_REQUIRE(frameView(reply[parsed->payloadFrame]) == frameView(encoded));
}

void checkRequestOptions(const Frames& frames, std::size_t bodyBegin)
{
    const auto options = parseOrReject("rpc::requestOptionsOf",
                                       [&] { return rpc::requestOptionsOf(frames, bodyBegin); });
    if (!hasFrames(frames, bodyBegin, rpc::kOptionsOffset + 1)) {
        FUZZ_REQUIRE(options && *options == rpc::RequestOptions{});
        return;
    }
    if (!options) {
        FUZZ_REQUIRE(options.error == ProtocolErrorKind::InvalidPayload);
        return;
    }
    FUZZ_REQUIRE(!options->timeoutMs || *options->timeoutMs > 0);
    const zmq::message_t encoded = rpc::encodeRequestOptions(*options);
    FUZZ_REQUIRE(rpc::decodeRequestOptions(frameView(encoded)) == *options);
}

} // namespace switchboard::fuzz
