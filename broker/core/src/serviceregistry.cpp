#include <switchboard/routing/serviceregistry.h>

#include <algorithm>

namespace switchboard {

std::vector<std::pair<std::string, std::size_t>> ServiceRegistry::workerCounts() const
{
    std::vector<std::pair<std::string, std::size_t>> counts;
    for (const auto& [name, service] : m_services) {
        if (service.workerCount() > 0) {
            counts.emplace_back(name, service.workerCount());
        }
    }
    std::sort(counts.begin(), counts.end());
    return counts;
}

} // namespace switchboard
