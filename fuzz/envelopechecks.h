#pragma once

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <string_view>

// The properties of the RPC envelope codec, shared by fuzz_envelope (bodies at any index) and
// fuzz_mdp (bodies where an MDP parse put them, as the broker, clientlib and workerlib see them).
// Each returns normally when the property holds and aborts otherwise.
namespace switchboard::fuzz {

// methodOf, parseRequest and unpackPayload on the args agree with each other; what parses
// re-encodes with appendRequest to the same frames.
void checkRequestEnvelope(const Frames& frames, std::size_t bodyBegin);

// parseReply, then the payload as clientlib decodes it (decodeError or unpackPayload); what
// parses re-encodes with appendReply to the same frames.
void checkReplyEnvelope(const Frames& frames, std::size_t bodyBegin);

// decodeError succeeds or throws InvalidPayload; what it decodes is a msgpack map to
// unpackPayload too, and survives checkErrorRoundTrip.
void checkErrorPayload(const zmq::message_t& payload);

// requestOptionsOf (what the broker reads of every request) succeeds or throws InvalidPayload;
// without a frame 3 it gives the defaults; what decodes re-encodes to options that decode the
// same.
void checkRequestOptions(const Frames& frames, std::size_t bodyBegin);

// encodeError then decodeError gives `error` back, and appendErrorReply with `requestId` makes a
// reply that parseReply accepts exactly when the id is at most 255 bytes.
void checkErrorRoundTrip(const rpc::ErrorInfo& error, std::string_view requestId);

} // namespace switchboard::fuzz
