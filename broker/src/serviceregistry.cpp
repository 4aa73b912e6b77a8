#include "serviceregistry.h"

#include <algorithm>

namespace switchboard {

std::vector<std::string> ServiceRegistry::namesWithWorkers() const
{
    std::vector<std::string> names;
    for (const auto& [name, service] : m_services) {
        if (service.workerCount() > 0) {
            names.push_back(name);
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace switchboard
