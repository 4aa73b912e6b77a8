#pragma once

#include "idleworkerlist.h"
#include "servicemeter.h"

#include <switchboard/protocol/frames.h>
#include <switchboard/protocol/mdp.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>

namespace switchboard {

// A client request waiting for a worker: the message as received, with its parse.
struct QueuedRequest {
    Frames frames; // [client identity, MDP frames..., body...]
    mdp::ClientMessage message;
    std::chrono::steady_clock::time_point deadline;
    // Statistics (BrokerConfig::statistics): where the outcome is counted, and since when it waits.
    MethodMeter* meter = nullptr;
    std::chrono::steady_clock::time_point receivedAt;
};

// A named service: its workers, and the requests waiting for one of them.
class Service {
public:
    explicit Service(std::string name)
        : m_name(std::move(name))
    {}
    ~Service()
    {
        if (m_meter) {
            m_meter->unlink();
        }
    }
    // The meter holds a count of the services linked to it: one Service, one link.
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    const std::string& name() const noexcept { return m_name; }

    IdleWorkerList& idleWorkers() noexcept { return m_idle; }
    const IdleWorkerList& idleWorkers() const noexcept { return m_idle; }
    std::size_t workerCount() const noexcept { return m_workerCount; }
    void addWorker() noexcept { ++m_workerCount; }
    void removeWorker() noexcept { --m_workerCount; }

    std::deque<QueuedRequest>& queue() noexcept { return m_queue; }
    const std::deque<QueuedRequest>& queue() const noexcept { return m_queue; }

    // Where its requests are counted; null when statistics are off. The meter outlives the
    // Service (BrokerStatistics keeps it while linked), so the pointer stays valid.
    ServiceMeter* meter() const noexcept { return m_meter; }
    void setMeter(ServiceMeter& meter) noexcept { m_meter = &meter; }

    // Nothing refers to it and nothing waits in it: the registry may forget it.
    bool isUnused() const noexcept { return m_workerCount == 0 && m_queue.empty(); }

private:
    std::string m_name;
    IdleWorkerList m_idle;
    std::size_t m_workerCount = 0;
    std::deque<QueuedRequest> m_queue;
    ServiceMeter* m_meter = nullptr;
};

} // namespace switchboard
