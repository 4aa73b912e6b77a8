#pragma once

#include <switchboard/monitoring/brokersnapshot.h>
#include <switchboard/protocol/error.h>

#include <msgpack.hpp>
#include <zmq.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// A BrokerSnapshot as msgpack, the payload of the admin protocol's "snapshot" reply
// (docs/PROTOCOL.md, "Admin protocol", lists every key). Encoder and decoder are both derived
// from the records' fields() (brokersnapshot.h).
namespace switchboard::snapshotcodec {

// The snapshot layout this code writes and reads, under the key "format". A snapshot without
// it comes from a broker older than the key, whose layout is format 1. A change that an older
// reader would misread (a key renamed or retyped, a worker state added) takes a new format; keys
// and event kinds may be added within one.
inline constexpr std::uint64_t kFormat = 1;

// A snapshot, or a request for one, in another format than kFormat: nothing in it is read. The
// message names both formats and says "incompatible broker version".
class IncompatibleFormat : public ProtocolError {
public:
    IncompatibleFormat(std::uint64_t brokerFormat, std::uint64_t readerFormat);
    std::uint64_t brokerFormat() const noexcept { return m_brokerFormat; }
    std::uint64_t readerFormat() const noexcept { return m_readerFormat; }

private:
    std::uint64_t m_brokerFormat;
    std::uint64_t m_readerFormat;
};

std::string encode(const BrokerSnapshot& snapshot);

// Checks "format" first (IncompatibleFormat when it is not kFormat), then every required key
// with its type; optional keys missing are taken as their default, unknown keys are ignored,
// and events of a kind this reader does not know are skipped. Throws ProtocolError
// (InvalidPayload) for anything else; never anything but ProtocolError.
BrokerSnapshot decode(const zmq::message_t& frame);
BrokerSnapshot decode(std::string_view bytes);

// The args of a "snapshot" request: {"format": kFormat}, the format its reader reads.
zmq::message_t encodeRequest();
// The format a "snapshot" request's args (a msgpack map) ask for: their "format", or 1 when
// absent (readers older than the key). nullopt when "format" is not an unsigned integer.
std::optional<std::uint64_t> requestedFormat(const msgpack::object_map& args) noexcept;

} // namespace switchboard::snapshotcodec
