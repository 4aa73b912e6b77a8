// libFuzzer target for the monitoring library's codecs (adminprotocol.h, snapshotcodec.h):
// requests as the broker's ROUTER reads them (behind the identity, and behind a REQ peer's empty
// delimiter), replies as AdminClient reads them, error payloads and snapshots, with the builders
// and encoders as the oracle for whatever parses.

#include "fuzzframes.h"
#include "invariant.h"

#include <switchboard/monitoring/adminprotocol.h>
#include <switchboard/monitoring/snapshotcodec.h>

#include <array>
#include <cstddef>
#include <cstdint>

using namespace switchboard;
using namespace switchboard::fuzz;

namespace {

// requestIdOf never throws, and names frame first + 1 when that is at most 255 bytes.
void checkRequestId(const Frames& frames, std::size_t first)
{
    const std::string_view id = admin::requestIdOf(frames, first);
    const bool present = first < frames.size() && frames.size() - first > 1 &&
                         frames[first + 1].size() <= admin::kMaxRequestIdSize;
    if (present) {
        FUZZ_REQUIRE(id == frameView(frames[first + 1]));
    } else {
        FUZZ_REQUIRE(id.empty());
    }
}

void checkRequest(const Frames& frames, std::size_t first)
{
    const auto request =
        parseOrReject("admin::parseRequest", [&] { return admin::parseRequest(frames, first); });
    if (!request) {
        return;
    }
    FUZZ_REQUIRE(first < frames.size() && frameView(frames[first]) == admin::kHeader);
    FUZZ_REQUIRE(request->idFrame == first + 1);
    FUZZ_REQUIRE(request->commandFrame == first + 2);
    FUZZ_REQUIRE(request->argsFrame == first + 3);
    FUZZ_REQUIRE(request->argsFrame < frames.size());
    const auto id = frameView(frames[request->idFrame]);
    FUZZ_REQUIRE(!id.empty() && id.size() <= admin::kMaxRequestIdSize);
    FUZZ_REQUIRE(admin::requestIdOf(frames, first) == id);
    const auto command = frameView(frames[request->commandFrame]);
    FUZZ_REQUIRE(!command.empty() && command.size() <= admin::kMaxCommandSize);
    for (const char c : command) {
        FUZZ_REQUIRE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    }

    // What makeRequest builds from the parts is a request, and the same one.
    const auto& args = frames[request->argsFrame];
    const Frames rebuilt = mustSucceed("admin::makeRequest", [&] {
        return admin::makeRequest(id, command, zmq::message_t(args.data(), args.size()));
    });
    FUZZ_REQUIRE(rebuilt.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) { // frames after args are reserved and not rebuilt
        FUZZ_REQUIRE(frameView(rebuilt[i]) == frameView(frames[first + i]));
    }
    const auto again =
        mustSucceed("admin::parseRequest", [&] { return admin::parseRequest(rebuilt, 0); });
    FUZZ_REQUIRE(again.idFrame == 1 && again.commandFrame == 2 && again.argsFrame == 3);
}

void checkReply(const Frames& frames)
{
    const auto reply =
        parseOrReject("admin::parseReply", [&] { return admin::parseReply(frames); });
    if (!reply) {
        return;
    }
    FUZZ_REQUIRE(frames.size() >= 4 && frameView(frames[0]) == admin::kHeader);
    FUZZ_REQUIRE(reply->idFrame == 1 && reply->payloadFrame == 3);
    FUZZ_REQUIRE(reply->status == admin::Status::Ok || reply->status == admin::Status::Error);
    Frames rebuilt;
    mustSucceed("admin::appendReply", [&] {
        admin::appendReply(rebuilt, frameView(frames[1]), reply->status,
                           zmq::message_t(frames[3].data(), frames[3].size()));
    });
    FUZZ_REQUIRE(rebuilt.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        FUZZ_REQUIRE(frameView(rebuilt[i]) == frameView(frames[i]));
    }
}

// A failure that decodes encodes back to one that decodes the same.
void checkFailure(const zmq::message_t& payload)
{
    const auto failure =
        parseOrReject("admin::decodeFailure", [&] { return admin::decodeFailure(payload); });
    if (!failure) {
        return;
    }
    const zmq::message_t encoded =
        mustSucceed("admin::encodeFailure", [&] { return admin::encodeFailure(*failure); });
    const auto again =
        mustSucceed("admin::decodeFailure", [&] { return admin::decodeFailure(encoded); });
    FUZZ_REQUIRE(again == *failure);
}

// A snapshot decodes or is refused with ProtocolError, never anything else; one that decodes
// encodes to bytes that decode and encode to the same bytes again (byte-wise, as NaN != NaN).
void checkSnapshot(const zmq::message_t& payload)
{
    const auto snapshot =
        parseOrReject("snapshotcodec::decode", [&] { return snapshotcodec::decode(payload); });
    if (!snapshot) {
        return;
    }
    const std::string encoded =
        mustSucceed("snapshotcodec::encode", [&] { return snapshotcodec::encode(*snapshot); });
    const BrokerSnapshot again =
        mustSucceed("snapshotcodec::decode", [&] { return snapshotcodec::decode(encoded); });
    FUZZ_REQUIRE(snapshotcodec::encode(again) == encoded);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Frames frames = inputFrames(data, size);
    // 1 behind the identity, 2 behind a REQ's delimiter as well, 0 as a DEALER; past the end and
    // SIZE_MAX, which must be rejected without reading a frame.
    const std::array<std::size_t, 5> firsts = {0, 1, 2, frames.size(), SIZE_MAX};
    for (const std::size_t first : firsts) {
        checkRequestId(frames, first);
        checkRequest(frames, first);
    }
    checkReply(frames);
    for (std::size_t i = 0; i < frames.size() && i < 4; ++i) {
        checkFailure(frames[i]);
        checkSnapshot(frames[i]);
    }
    return 0;
}
