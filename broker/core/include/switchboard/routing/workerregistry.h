#pragma once

#include <switchboard/routing/outbox.h>
#include <switchboard/routing/registeredworker.h>
#include <switchboard/routing/stringmap.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard {

// A worker purged for silence or a closed connection, as it was then: kept for the operator,
// not for routing.
struct ExpiredWorker {
    std::string identity;
    std::string service;
    std::string peerAddress;
    mdp::Version version = mdp::Version::V02;
    int capacity = 1;
    std::uint64_t served = 0;
    std::uint64_t errors = 0;
    std::chrono::steady_clock::time_point registeredAt;
    std::chrono::steady_clock::time_point lastHeard;
    std::chrono::steady_clock::time_point expiredAt;
};

// The registered workers, found by identity and by the connection they came on, and the rows
// of those recently purged (at most kMaxExpired, for kExpiredRetention).
class WorkerRegistry {
public:
    using Clock = std::chrono::steady_clock;

    static constexpr std::chrono::seconds kExpiredRetention{60};
    static constexpr std::size_t kMaxExpired = 100;

    RegisteredWorker* find(std::string_view identity) noexcept
    {
        auto it = m_workers.find(identity);
        return it == m_workers.end() ? nullptr : &it->second;
    }
    const RegisteredWorker* find(std::string_view identity) const noexcept
    {
        auto it = m_workers.find(identity);
        return it == m_workers.end() ? nullptr : &it->second;
    }

    // A new worker; the same identity coming back replaces its expired row.
    RegisteredWorker& add(std::string_view identity, mdp::Version version, int credit,
                          Service& service, PeerConnection connection, Clock::time_point now);
    // Forgets the worker; `worker` is invalid afterwards.
    void remove(RegisteredWorker& worker);

    // The workers that came on a connection (usually one).
    std::vector<RegisteredWorker*> onConnection(int connection) const;

    // Keeps the worker's row as an expired one (before remove()).
    void rememberExpired(const RegisteredWorker& worker, Clock::time_point now);
    // Drops the expired rows older than kExpiredRetention.
    void pruneExpired(Clock::time_point now);
    const std::deque<ExpiredWorker>& expired() const noexcept { return m_expired; }

    std::size_t size() const noexcept { return m_workers.size(); }
    bool empty() const noexcept { return m_workers.empty(); }
    RegisteredWorker& any() noexcept { return m_workers.begin()->second; }

    template <typename Fn>
    void forEach(Fn&& fn)
    {
        for (auto& [identity, worker] : m_workers) {
            fn(worker);
        }
    }
    template <typename Fn>
    void forEach(Fn&& fn) const
    {
        for (const auto& [identity, worker] : m_workers) {
            fn(worker);
        }
    }

private:
    StringMap<RegisteredWorker> m_workers;
    std::unordered_multimap<int, RegisteredWorker*> m_byConnection;
    std::deque<ExpiredWorker> m_expired;
};

} // namespace switchboard
