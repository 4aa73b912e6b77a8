// libFuzzer target for the MDP codec (mdp.h): every parser on the message the input frames
// (fuzzframes.h), at each place a message may start, with the builders as the oracle for
// whatever parses. Bodies that parse go on to the envelope checks, as in the broker.

#include "envelopechecks.h"
#include "fuzzframes.h"
#include "invariant.h"

#include <switchboard/protocol/mdp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

using namespace switchboard;
using namespace switchboard::fuzz;
using mdp::ClientCommand;
using mdp::Version;
using mdp::WorkerCommand;

namespace {

bool hasFrames(const Frames& frames, std::size_t begin, std::size_t count)
{
    return begin <= frames.size() && frames.size() - begin >= count;
}

// What clientVersionOf must say, from the header alone (docs/PROTOCOL.md §3, §4).
std::optional<Version> claimedVersion(const Frames& frames, std::size_t first)
{
    if (hasFrames(frames, first, 1) && frameView(frames[first]) == mdp::kClientHeaderV02) {
        return Version::V02;
    }
    if (hasFrames(frames, first, 2) && frames[first].size() == 0 &&
        frameView(frames[first + 1]) == mdp::kClientHeaderV01) {
        return Version::V01;
    }
    return std::nullopt;
}

// The fields every client message shares: two frames before the service either way, then at
// least one body frame.
void checkClientShape(const Frames& frames, std::size_t first, const mdp::ClientMessage& message,
                      std::optional<Version> claimed)
{
    FUZZ_REQUIRE(claimed == message.version);
    FUZZ_REQUIRE(message.serviceFrame == first + 2);
    FUZZ_REQUIRE(message.bodyBegin == first + 3);
    FUZZ_REQUIRE(message.bodyBegin < frames.size());
}

// The whole client message, rebuilt with appendClientHeader: must be the frames that parsed.
Frames rebuiltClientMessage(const Frames& frames, const mdp::ClientMessage& message)
{
    Frames rebuilt;
    mustSucceed("mdp::appendClientHeader",
                [&] { mdp::appendClientHeader(rebuilt, message.version, message.command); });
    rebuilt.emplace_back(frames[message.serviceFrame].data(), frames[message.serviceFrame].size());
    for (zmq::message_t& frame : copyFrames(frames, message.bodyBegin)) {
        rebuilt.push_back(std::move(frame));
    }
    return rebuilt;
}

void checkParsesBackTheSame(const mdp::ClientMessage& again, const mdp::ClientMessage& message,
                            std::size_t first)
{
    FUZZ_REQUIRE(again.version == message.version);
    FUZZ_REQUIRE(again.command == message.command);
    FUZZ_REQUIRE(again.serviceFrame == message.serviceFrame - first);
    FUZZ_REQUIRE(again.bodyBegin == message.bodyBegin - first);
}

void checkClientRequest(const Frames& frames, std::size_t first, std::optional<Version> claimed)
{
    const auto parsed = parseOrReject("mdp::parseClientRequest",
                                      [&] { return mdp::parseClientRequest(frames, first); });
    if (!parsed) {
        return;
    }
    const mdp::ClientMessage& message = *parsed;
    checkClientShape(frames, first, message, claimed);
    FUZZ_REQUIRE(message.command == ClientCommand::Request);
    const std::string_view service = frameView(frames[message.serviceFrame]);
    FUZZ_REQUIRE(mdp::isValidServiceName(service));

    const Frames rebuilt = mustSucceed("mdp::makeClientRequest", [&] {
        return mdp::makeClientRequest(message.version, service,
                                      copyFrames(frames, message.bodyBegin));
    });
    FUZZ_REQUIRE(sameFrames(frames, first, rebuilt));
    FUZZ_REQUIRE(sameFrames(frames, first, rebuiltClientMessage(frames, message)));
    checkParsesBackTheSame(mustSucceed("mdp::parseClientRequest of makeClientRequest",
                                       [&] { return mdp::parseClientRequest(rebuilt, 0); }),
                           message, first);

    // A 7/MDP REPLY has the shape of a REQUEST and its service is not checked, so every 7/MDP
    // request also reads as a reply; 18/MDP tells them apart by the command byte.
    const auto asReply = parseOrReject("mdp::parseClientReply",
                                       [&] { return mdp::parseClientReply(frames, first); });
    if (message.version == Version::V01) {
        FUZZ_REQUIRE(asReply && asReply->command == ClientCommand::Reply);
        FUZZ_REQUIRE(asReply->serviceFrame == message.serviceFrame);
        FUZZ_REQUIRE(asReply->bodyBegin == message.bodyBegin);
    } else {
        FUZZ_REQUIRE(asReply.error == ProtocolErrorKind::UnknownCommand);
    }

    // What the broker does with the body of a request.
    checkRequestEnvelope(frames, message.bodyBegin);
}

void checkClientReply(const Frames& frames, std::size_t first, std::optional<Version> claimed)
{
    const auto parsed = parseOrReject("mdp::parseClientReply",
                                      [&] { return mdp::parseClientReply(frames, first); });
    if (!parsed) {
        return;
    }
    const mdp::ClientMessage& message = *parsed;
    checkClientShape(frames, first, message, claimed);
    if (message.version == Version::V01) {
        FUZZ_REQUIRE(message.command == ClientCommand::Reply);
    } else {
        FUZZ_REQUIRE(message.command == ClientCommand::Partial ||
                     message.command == ClientCommand::Final);
    }

    const Frames rebuilt = rebuiltClientMessage(frames, message);
    FUZZ_REQUIRE(sameFrames(frames, first, rebuilt));
    checkParsesBackTheSame(mustSucceed("mdp::parseClientReply of appendClientHeader",
                                       [&] { return mdp::parseClientReply(rebuilt, 0); }),
                           message, first);

    // What clientlib does with the body of an answer.
    checkReplyEnvelope(frames, message.bodyBegin);
}

// The message rebuilt with the builders from what parseWorkerMessage located.
Frames rebuiltWorkerMessage(const Frames& frames, const mdp::WorkerMessage& message)
{
    return mustSucceed("mdp worker builders", [&] {
        switch (message.command) {
        case WorkerCommand::Ready:
            return mdp::makeWorkerReady(message.version, frameView(frames[message.serviceFrame]),
                                        message.credit);
        case WorkerCommand::Heartbeat:
            return mdp::makeWorkerHeartbeat(message.version);
        case WorkerCommand::Disconnect:
            return mdp::makeWorkerDisconnect(message.version);
        case WorkerCommand::Decline:
            return mdp::makeWorkerDecline(message.version, frameView(frames[message.clientFrame]));
        case WorkerCommand::Request:
            break;
        case WorkerCommand::Reply:
        case WorkerCommand::Partial:
        case WorkerCommand::Final:
            return mdp::makeWorkerReply(message.version, message.command,
                                        frameView(frames[message.clientFrame]),
                                        copyFrames(frames, message.bodyBegin));
        }
        // No whole-message builder for REQUEST: the broker appends to a header.
        Frames rebuilt;
        mdp::appendWorkerHeader(rebuilt, message.version, message.command);
        rebuilt.emplace_back(frames[message.clientFrame].data(),
                             frames[message.clientFrame].size());
        rebuilt.emplace_back();
        for (zmq::message_t& frame : copyFrames(frames, message.bodyBegin)) {
            rebuilt.push_back(std::move(frame));
        }
        return rebuilt;
    });
}

void checkWorkerMessage(const Frames& frames, std::size_t first)
{
    const auto parsed = parseOrReject("mdp::parseWorkerMessage",
                                      [&] { return mdp::parseWorkerMessage(frames, first); });
    if (!parsed) {
        return;
    }
    const mdp::WorkerMessage& message = *parsed;
    const auto byte = mdp::commandByte(message.version, message.command);
    FUZZ_REQUIRE(byte.has_value());
    // 7/MDP: [empty, header, command]; 18/MDP: [header, command].
    const std::size_t headerFrames = message.version == Version::V01 ? 3 : 2;
    FUZZ_REQUIRE(hasFrames(frames, first, headerFrames));
    const zmq::message_t& command = frames[first + headerFrames - 1];
    FUZZ_REQUIRE(command.size() == 1 && *command.data<std::uint8_t>() == *byte);

    const std::size_t args = first + headerFrames;
    switch (message.command) {
    case WorkerCommand::Ready:
        // The credit frame (docs/PROTOCOL.md §11.1) follows the service when there is one.
        FUZZ_REQUIRE(message.serviceFrame == args &&
                     frames.size() == args + (message.credit != 0 ? 2 : 1));
        FUZZ_REQUIRE(message.clientFrame == 0 && message.bodyBegin == 0);
        FUZZ_REQUIRE(mdp::isValidServiceName(frameView(frames[message.serviceFrame])));
        break;
    case WorkerCommand::Heartbeat:
    case WorkerCommand::Disconnect:
        FUZZ_REQUIRE(frames.size() == args);
        FUZZ_REQUIRE(message.serviceFrame == 0 && message.clientFrame == 0 &&
                     message.bodyBegin == 0);
        break;
    case WorkerCommand::Decline:
        FUZZ_REQUIRE(message.serviceFrame == 0 && message.bodyBegin == 0);
        FUZZ_REQUIRE(message.clientFrame == args && frames.size() == args + 1);
        FUZZ_REQUIRE(frames[message.clientFrame].size() != 0);
        break;
    case WorkerCommand::Request:
    case WorkerCommand::Reply:
    case WorkerCommand::Partial:
    case WorkerCommand::Final:
        FUZZ_REQUIRE(message.serviceFrame == 0);
        FUZZ_REQUIRE(message.clientFrame == args && message.bodyBegin == args + 2);
        FUZZ_REQUIRE(message.bodyBegin < frames.size());
        FUZZ_REQUIRE(frames[message.clientFrame].size() != 0);
        FUZZ_REQUIRE(frames[message.clientFrame + 1].size() == 0);
        break;
    }

    const Frames rebuilt = rebuiltWorkerMessage(frames, message);
    FUZZ_REQUIRE(sameFrames(frames, first, rebuilt));
    const mdp::WorkerMessage again = mustSucceed("mdp::parseWorkerMessage of the builders", [&] {
        return mdp::parseWorkerMessage(rebuilt, 0);
    });
    FUZZ_REQUIRE(again.version == message.version && again.command == message.command);
    FUZZ_REQUIRE(again.serviceFrame ==
                 (message.serviceFrame == 0 ? 0 : message.serviceFrame - first));
    FUZZ_REQUIRE(again.clientFrame == (message.clientFrame == 0 ? 0 : message.clientFrame - first));
    FUZZ_REQUIRE(again.bodyBegin == (message.bodyBegin == 0 ? 0 : message.bodyBegin - first));

    // What a worker does with a REQUEST's body, and the broker with a reply's.
    if (message.command == WorkerCommand::Request) {
        checkRequestEnvelope(frames, message.bodyBegin);
    } else if (message.bodyBegin != 0) {
        checkReplyEnvelope(frames, message.bodyBegin);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Frames frames = inputFrames(data, size);
    // 0 as a DEALER receives a message, 1 as a ROUTER does (frame 0 the peer identity); past the
    // end and SIZE_MAX, which every parser must reject without reading a frame.
    const std::array<std::size_t, 4> firsts = {0, 1, frames.size(), SIZE_MAX};
    for (const std::size_t first : firsts) {
        const std::optional<Version> claimed = mdp::clientVersionOf(frames, first); // noexcept
        FUZZ_REQUIRE(claimed == claimedVersion(frames, first));
        checkClientRequest(frames, first, claimed);
        checkClientReply(frames, first, claimed);
        checkWorkerMessage(frames, first);
    }
    return 0;
}
