#pragma once

#include <switchboard/routing/service.h>
#include <switchboard/routing/stringmap.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard {

// Services by name, created on demand and forgotten once no worker and no request refers to them,
// so that a client asking for a million made-up names cannot grow the broker without bound. It
// also keeps what all their queues hold together.
class ServiceRegistry {
public:
    Service* find(std::string_view name) noexcept
    {
        auto it = m_services.find(name);
        return it == m_services.end() ? nullptr : &it->second;
    }
    const Service* find(std::string_view name) const noexcept
    {
        auto it = m_services.find(name);
        return it == m_services.end() ? nullptr : &it->second;
    }

    // The service and whether it was just created.
    std::pair<Service&, bool> findOrCreate(std::string_view name)
    {
        auto it = m_services.find(name);
        const bool created = it == m_services.end();
        if (created) {
            it = m_services.try_emplace(std::string(name), std::string(name), m_totals).first;
        }
        return {it->second, created};
    }

    // Forgets every service that no worker and no request refers to, calling
    // onForgotten(service) for each before it goes.
    template <typename OnForgotten>
    void forgetUnused(OnForgotten&& onForgotten)
    {
        std::erase_if(m_services, [&](auto& entry) {
            if (!entry.second.isUnused()) {
                return false;
            }
            onForgotten(entry.second);
            return true;
        });
    }

    std::size_t size() const noexcept { return m_services.size(); }
    // Requests and bytes queued in all services.
    const QueueTotals& queued() const noexcept { return m_totals; }

    template <typename Fn>
    void forEach(Fn&& fn)
    {
        for (auto& [name, service] : m_services) {
            fn(service);
        }
    }
    template <typename Fn>
    void forEach(Fn&& fn) const
    {
        for (const auto& [name, service] : m_services) {
            fn(service);
        }
    }

    // Services with at least one live worker and how many, sorted by name.
    std::vector<std::pair<std::string, std::size_t>> workerCounts() const;

private:
    // Before m_services: each Service updates it until it is destroyed.
    QueueTotals m_totals;
    StringMap<Service> m_services;
};

} // namespace switchboard
