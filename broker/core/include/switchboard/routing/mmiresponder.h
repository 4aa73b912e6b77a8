#pragma once

#include <switchboard/routing/serviceregistry.h>

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <string_view>

namespace switchboard {

// Answers 8/MMI requests from what the registry knows. Two forms, as docs/PROTOCOL.md says: a
// body in our RPC envelope gets an envelope reply, any other body gets the RFC 8 answer (its last
// frame replaced by "200", "404" or "501").
class MmiResponder {
public:
    explicit MmiResponder(const ServiceRegistry& registry)
        : m_registry(registry)
    {}

    static bool isMmi(std::string_view service) noexcept { return service.starts_with("mmi."); }

    // Appends the reply body for `service` to `out`, moving what it can from the request body
    // (frames[bodyBegin...]).
    void answer(std::string_view service, Frames& frames, std::size_t bodyBegin, Frames& out) const;

private:
    void answerEnvelope(std::string_view service, const rpc::RequestEnvelope& envelope,
                        Frames& frames, Frames& out) const;
    void answerRaw(std::string_view service, Frames& frames, std::size_t bodyBegin,
                   Frames& out) const;

    const ServiceRegistry& m_registry;
};

} // namespace switchboard
