#pragma once

#include <switchboard/routing/serviceregistry.h>
#include <switchboard/routing/workerregistry.h>

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace switchboard {

// Answers 8/MMI requests from what the registry knows. Two forms, as docs/PROTOCOL.md says: a
// body in our RPC envelope gets an envelope reply, any other body gets the RFC 8 answer (its last
// frame replaced by "200", "404" or "501"). Besides RFC 8's services, `mmi.capacity` tells per
// service its workers, their total credit, the requests they hold and those waiting.
class MmiResponder {
public:
    MmiResponder(const ServiceRegistry& registry, const WorkerRegistry& workers)
        : m_registry(registry)
        , m_workers(workers)
    {}

    // One service's line of `mmi.capacity`.
    struct Capacity {
        std::size_t workers = 0;
        std::size_t capacity = 0; // the sum of its workers' credit (1 for a plain MDP worker)
        std::size_t inFlight = 0;
        std::size_t queued = 0;
    };
    // Services with at least one worker or one waiting request, by name.
    std::map<std::string, Capacity> capacities() const;

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
    const WorkerRegistry& m_workers;
};

} // namespace switchboard
