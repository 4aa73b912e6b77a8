// libFuzzer target for the RPC envelope codec (envelope.h, payload.h): the request and reply
// parsers on the message the input frames (fuzzframes.h) with the body at each place it may
// start, every frame as an error payload, and the error map round trip on the frames as strings.

#include "envelopechecks.h"
#include "fuzzframes.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

using namespace switchboard;
using namespace switchboard::fuzz;

namespace {

std::string frameText(const Frames& frames, std::size_t index)
{
    return index < frames.size() ? std::string(frameView(frames[index])) : std::string();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Frames frames = inputFrames(data, size);
    // 0 for a bare body, 1 behind one frame; past the end and SIZE_MAX must be rejected unread.
    const std::array<std::size_t, 4> bodyBegins = {0, 1, frames.size(), SIZE_MAX};
    for (const std::size_t bodyBegin : bodyBegins) {
        checkRequestEnvelope(frames, bodyBegin);
        checkReplyEnvelope(frames, bodyBegin);
        checkRequestOptions(frames, bodyBegin);
    }
    for (const zmq::message_t& frame : frames) {
        checkErrorPayload(frame);
    }
    // Any bytes at all as type, message, detail and request id.
    checkErrorRoundTrip({frameText(frames, 0), frameText(frames, 1), frameText(frames, 2)},
                        frameText(frames, 3));
    return 0;
}
