#pragma once

#include <switchboard/broker/brokersnapshot.h>

#include <zmq.hpp>

#include <string>
#include <string_view>

// A BrokerSnapshot as msgpack, the payload of the admin protocol's "snapshot" reply
// (docs/PROTOCOL.md, "Admin protocol", lists every key).
namespace switchboard::snapshotcodec {

std::string encode(const BrokerSnapshot& snapshot);

// Strict: exactly one msgpack map, every documented key present with its type (unknown keys are
// ignored, so a newer broker may add some). Throws ProtocolError (InvalidPayload) otherwise.
BrokerSnapshot decode(const zmq::message_t& frame);
BrokerSnapshot decode(std::string_view bytes);

} // namespace switchboard::snapshotcodec
