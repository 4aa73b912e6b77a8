#pragma once

#include "service.h"
#include "stringmap.h"

#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

// Services by name, created on demand and forgotten once no worker and no request refers to them,
// so that a client asking for a million made-up names cannot grow the broker without bound.
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

    Service& findOrCreate(std::string_view name)
    {
        auto it = m_services.find(name);
        if (it == m_services.end()) {
            it = m_services.try_emplace(std::string(name), std::string(name)).first;
        }
        return it->second;
    }

    // Forgets every service that no worker and no request refers to.
    void forgetUnused()
    {
        std::erase_if(m_services, [](const auto& entry) { return entry.second.isUnused(); });
    }

    std::size_t size() const noexcept { return m_services.size(); }

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
    StringMap<Service> m_services;
};

} // namespace switchboard
