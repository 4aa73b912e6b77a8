#include <switchboard/statistics/brokerstatistics.h>

namespace switchboard {

ServiceMeter& BrokerStatistics::serviceMeter(std::string_view name, Clock::time_point now)
{
    auto it = m_services.find(name);
    if (it == m_services.end()) {
        // The catch-all may be the one meter beyond the bound: there has to be somewhere to count.
        if (m_services.size() >= kMaxServices && name != kCatchAll) {
            return serviceMeter(kCatchAll, now);
        }
        it = m_services.try_emplace(std::string(name), std::string(name), now).first;
    }
    return it->second;
}

ServiceMeter& BrokerStatistics::link(std::string_view service, Clock::time_point now)
{
    ServiceMeter& meter = serviceMeter(service, now);
    meter.link();
    return meter;
}

MethodMeter& BrokerStatistics::addMethod(ServiceMeter& service, std::string_view name,
                                         Clock::time_point now)
{
    ++m_methodCount;
    return service.methods()
        .try_emplace(std::string(name), service.name(), std::string(name), now)
        .first->second;
}

MethodMeter& BrokerStatistics::method(ServiceMeter& service, std::string_view name,
                                      Clock::time_point now)
{
    auto& methods = service.methods();
    const bool catchAllService = service.name() == kCatchAll;
    if (!catchAllService) {
        if (auto it = methods.find(name); it != methods.end()) {
            return it->second;
        }
        if (methods.size() < kMaxMethodsPerService && m_methodCount < kMaxMethods) {
            return addMethod(service, name, now);
        }
    }
    if (auto it = methods.find(kCatchAll); it != methods.end()) {
        return it->second;
    }
    if (m_methodCount < kMaxMethods || catchAllService) {
        return addMethod(service, kCatchAll, now);
    }
    // Not even room for this service's catch-all: count under the broker-wide one. Requests of
    // any service may point into it from now on, so it is linked once more for good and never
    // swept.
    ServiceMeter& overflow = serviceMeter(kCatchAll, now);
    if (!m_overflowPinned) {
        overflow.link();
        m_overflowPinned = true;
    }
    return method(overflow, kCatchAll, now);
}

void BrokerStatistics::sweep(Clock::time_point now)
{
    for (auto it = m_services.begin(); it != m_services.end();) {
        ServiceMeter& meter = it->second;
        if (meter.links() > 0) {
            ++it;
            continue;
        }
        auto& since = meter.unlinkedSince();
        if (!since) {
            since = now;
        }
        if (now - *since >= kRetention) {
            m_methodCount -= meter.methods().size();
            it = m_services.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace switchboard
