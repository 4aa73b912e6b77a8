#include <switchboard/routing/workerregistry.h>

#include <switchboard/routing/service.h>

#include <algorithm>

namespace switchboard {

RegisteredWorker& WorkerRegistry::add(std::string_view identity, mdp::Version version, int credit,
                                      Service& service, PeerConnection connection,
                                      Clock::time_point now)
{
    std::erase_if(m_expired,
                  [&](const ExpiredWorker& expired) { return expired.identity == identity; });
    auto [it, inserted] = m_workers.try_emplace(std::string(identity), std::string(identity),
                                                version, credit, service, now);
    RegisteredWorker& worker = it->second;
    worker.setConnectionFd(connection.id);
    worker.setPeerAddress(std::move(connection.address));
    if (connection.id >= 0) {
        m_byConnection.emplace(connection.id, &worker);
    }
    return worker;
}

void WorkerRegistry::remove(RegisteredWorker& worker)
{
    if (worker.connectionFd() >= 0) {
        auto [begin, end] = m_byConnection.equal_range(worker.connectionFd());
        for (auto it = begin; it != end; ++it) {
            if (it->second == &worker) {
                m_byConnection.erase(it);
                break;
            }
        }
    }
    if (auto it = m_workers.find(worker.identity()); it != m_workers.end()) {
        m_workers.erase(it);
    }
}

std::vector<RegisteredWorker*> WorkerRegistry::onConnection(int connection) const
{
    std::vector<RegisteredWorker*> workers;
    auto [begin, end] = m_byConnection.equal_range(connection);
    for (auto it = begin; it != end; ++it) {
        workers.push_back(it->second);
    }
    return workers;
}

void WorkerRegistry::rememberExpired(const RegisteredWorker& worker, Clock::time_point now)
{
    if (m_expired.size() >= kMaxExpired) {
        m_expired.pop_front();
    }
    m_expired.push_back({worker.identity(), worker.service().name(), worker.peerAddress(),
                         worker.version(), worker.capacity(), worker.served(), worker.errors(),
                         worker.registeredAt(), worker.lastHeard(), now});
}

void WorkerRegistry::pruneExpired(Clock::time_point now)
{
    while (!m_expired.empty() && now - m_expired.front().expiredAt >= kExpiredRetention) {
        m_expired.pop_front();
    }
}

} // namespace switchboard
