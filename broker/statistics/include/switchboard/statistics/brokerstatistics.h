#pragma once

#include <switchboard/routing/stringmap.h>
#include <switchboard/statistics/methodmeter.h>
#include <switchboard/statistics/ratewindow.h>
#include <switchboard/statistics/servicemeter.h>

#include <chrono>
#include <cstddef>
#include <string_view>

namespace switchboard {

// Every ServiceMeter and MethodMeter of a broker, bounded against names that clients make up.
//
// Method names come from clients, so at most kMaxMethodsPerService are tracked per service and
// kMaxMethods in all; calls beyond that are counted under the method kCatchAll of their service,
// or, once even that cannot be added, under kCatchAll of the service kCatchAll. Service meters
// are bounded the same way (kMaxServices, then the service kCatchAll).
//
// A service's meter is kept while a Service of that name exists (each one links to it) and for
// kRetention after the last one is forgotten: a service whose workers all restart at once keeps
// its history, and an operator can still read what a vanished service did. Then the meter and
// its methods are dropped, so made-up service names cost nothing in the long run. Methods of a
// live service are never dropped one by one: up to the bound they stay for the service's life.
class BrokerStatistics {
public:
    using Clock = std::chrono::steady_clock;

    static constexpr std::size_t kMaxMethodsPerService = 64;
    static constexpr std::size_t kMaxMethods = 1024;
    static constexpr std::size_t kMaxServices = 1024;
    static constexpr std::chrono::seconds kRetention{60};
    static constexpr std::string_view kCatchAll = "(other)";

    explicit BrokerStatistics(Clock::time_point now)
        : m_createdAt(now)
    {}

    // The meter a new Service of this name reports to, linked (ServiceMeter::link()) on its
    // behalf. Allocates only the first time a name is seen.
    ServiceMeter& link(std::string_view service, Clock::time_point now);

    // The meter of a method of `service`; O(1) and allocation-free once the name has been seen.
    MethodMeter& method(ServiceMeter& service, std::string_view name, Clock::time_point now);

    // Every request the broker receives, MMI included: the broker-wide rate.
    void recordRequest(Clock::time_point now) noexcept { m_requestRate.add(now); }
    double requestsPerSecond(Clock::time_point now) const noexcept
    {
        return m_requestRate.perSecond(now, m_createdAt);
    }

    // Drops the meters of services gone for longer than kRetention. O(services); call it on a
    // timer, not per request.
    void sweep(Clock::time_point now);

    std::size_t serviceCount() const noexcept { return m_services.size(); }
    std::size_t methodCount() const noexcept { return m_methodCount; }

    template <typename Fn>
    void forEachService(Fn&& fn) const
    {
        for (const auto& [name, meter] : m_services) {
            fn(meter);
        }
    }

private:
    ServiceMeter& serviceMeter(std::string_view name, Clock::time_point now);
    MethodMeter& addMethod(ServiceMeter& service, std::string_view name, Clock::time_point now);

    Clock::time_point m_createdAt;
    StringMap<ServiceMeter> m_services;
    std::size_t m_methodCount = 0;
    bool m_overflowPinned = false;
    RateWindow m_requestRate;
};

} // namespace switchboard
