#pragma once

#include <switchboard/broker/brokercounters.h>
#include <switchboard/monitoring/brokersnapshot.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

namespace switchboard {

// What the broker's thread tells the HTTP listener's thread: how far the broker has come
// (readiness), when its event loop last turned (liveness), and its latest snapshot and counters
// (metrics). The broker writes, the listener only reads, so a scrape never waits for the
// broker's loop and the broker never waits for a scrape longer than one pointer copy.
class PublishedState {
public:
    using Clock = std::chrono::steady_clock;

    enum class Readiness { Starting, Ready, ShuttingDown };

    struct Publication {
        BrokerSnapshot snapshot;
        BrokerCounters counters;
    };

    void setReadiness(Readiness readiness) noexcept { m_readiness.store(readiness); }
    Readiness readiness() const noexcept { return m_readiness.load(); }

    void beat(Clock::time_point now) noexcept
    {
        m_lastBeat.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    }
    Clock::time_point lastBeat() const noexcept
    {
        return Clock::time_point(Clock::duration(m_lastBeat.load(std::memory_order_relaxed)));
    }

    void publish(std::shared_ptr<const Publication> publication)
    {
        const std::lock_guard lock(m_mutex);
        m_latest = std::move(publication);
    }
    // Null before the first publication.
    std::shared_ptr<const Publication> latest() const
    {
        const std::lock_guard lock(m_mutex);
        return m_latest;
    }

private:
    std::atomic<Readiness> m_readiness{Readiness::Starting};
    std::atomic<Clock::rep> m_lastBeat{Clock::now().time_since_epoch().count()};
    mutable std::mutex m_mutex;
    std::shared_ptr<const Publication> m_latest;
};

} // namespace switchboard
