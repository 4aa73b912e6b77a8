#pragma once

#include <switchboard/protocol/mdp.h>

#include <chrono>
#include <string>
#include <vector>

namespace switchboard {

class Service;

// A request handed to a worker and not yet answered.
struct InFlightRequest {
    std::string clientIdentity;
    std::string requestId; // empty when the request had none we could echo
    mdp::Version clientVersion = mdp::Version::V02;
    std::chrono::steady_clock::time_point dispatchedAt;
    // A 7/MDP client cannot take a stream: it got StreamingUnsupported at the first PARTIAL
    // and the rest of the stream is dropped.
    bool streamRejected = false;
};

// One registered worker, as the broker sees it. MDP workers hold one request at a time; the
// in-flight list and `capacity` let a later protocol extension hold more without reshaping.
class WorkerSession {
public:
    using Clock = std::chrono::steady_clock;

    WorkerSession(std::string identity, mdp::Version version, Service& service)
        : m_identity(std::move(identity))
        , m_version(version)
        , m_service(&service)
    {
        m_inFlight.reserve(static_cast<std::size_t>(m_capacity));
    }

    const std::string& identity() const noexcept { return m_identity; }
    mdp::Version version() const noexcept { return m_version; }
    Service& service() const noexcept { return *m_service; }

    int capacity() const noexcept { return m_capacity; }
    bool hasCapacity() const noexcept { return static_cast<int>(m_inFlight.size()) < m_capacity; }
    std::vector<InFlightRequest>& inFlight() noexcept { return m_inFlight; }
    const std::vector<InFlightRequest>& inFlight() const noexcept { return m_inFlight; }

    Clock::time_point expiry() const noexcept { return m_expiry; }
    void setExpiry(Clock::time_point expiry) noexcept { m_expiry = expiry; }

    // Links of the service's idle list (see IdleWorkerList), kept here so that joining,
    // leaving and rotating the list never allocates.
    WorkerSession* idlePrev = nullptr;
    WorkerSession* idleNext = nullptr;
    bool idleLinked = false;

private:
    std::string m_identity;
    mdp::Version m_version;
    Service* m_service;
    int m_capacity = 1;
    std::vector<InFlightRequest> m_inFlight;
    Clock::time_point m_expiry;
};

} // namespace switchboard
