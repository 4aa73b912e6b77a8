#pragma once

#include <switchboard/routing/routingobserver.h>
#include <switchboard/routing/stringmap.h>
#include <switchboard/statistics/methodmeter.h>
#include <switchboard/statistics/ratewindow.h>

#include <switchboard/monitoring/brokersnapshot.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace switchboard {

// The statistics of one service and of its methods. It lives in BrokerStatistics, apart from
// the Service itself, so that it survives the broker forgetting the service for a moment (all
// workers restarting at once) and an operator still sees what happened after the service is
// gone; each live Service holds a link to it (see BrokerStatistics).
class ServiceMeter : public MeterSlot {
public:
    using Clock = std::chrono::steady_clock;

    ServiceMeter(std::string name, Clock::time_point now)
        : m_name(std::move(name))
        , m_createdAt(now)
    {}
    ServiceMeter(const ServiceMeter&) = delete;
    ServiceMeter& operator=(const ServiceMeter&) = delete;

    const std::string& name() const noexcept { return m_name; }

    void recordRequest(Clock::time_point now) noexcept
    {
        ++m_requests;
        m_requestRate.add(now);
    }
    void recordError(Clock::time_point now) noexcept
    {
        ++m_errors;
        m_errorRate.add(now);
    }
    void recordExpired() noexcept { ++m_expired; }

    // Fills the statistics part of a service's row; queue and workers come from the Service.
    void fill(ServiceStats& stats, Clock::time_point now) const
    {
        stats.requestsPerSecond = m_requestRate.perSecond(now, m_createdAt);
        stats.errorsPerSecond = m_errorRate.perSecond(now, m_createdAt);
        stats.requests = m_requests;
        stats.errors = m_errors;
        stats.expired = m_expired;
    }

    StringMap<MethodMeter>& methods() noexcept { return m_methods; }
    const StringMap<MethodMeter>& methods() const noexcept { return m_methods; }

    // Services that report here: while there are any, the meter is kept.
    void link() noexcept
    {
        ++m_links;
        m_unlinkedSince.reset();
    }
    void unlink() noexcept { --m_links; }
    std::size_t links() const noexcept { return m_links; }
    std::optional<Clock::time_point>& unlinkedSince() noexcept { return m_unlinkedSince; }

private:
    std::string m_name;
    Clock::time_point m_createdAt;
    std::uint64_t m_requests = 0;
    std::uint64_t m_errors = 0;
    std::uint64_t m_expired = 0;
    RateWindow m_requestRate;
    RateWindow m_errorRate;
    StringMap<MethodMeter> m_methods;
    std::size_t m_links = 0;
    std::optional<Clock::time_point> m_unlinkedSince;
};

} // namespace switchboard
