#pragma once

#include "idleworkerlist.h"
#include "requestterms.h"
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
    RequestTerms terms;
    std::size_t bytes = 0; // of all frames, counted against BrokerConfig::maxQueuedBytes
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
    // Arrivals join at the back; a request whose worker died goes back to the front.
    void pushBack(QueuedRequest request)
    {
        m_deadlinesOrdered =
            m_deadlinesOrdered &&
            (m_queue.empty() || m_queue.back().terms.deadline <= request.terms.deadline);
        m_queue.push_back(std::move(request));
    }
    void pushFront(QueuedRequest request)
    {
        m_deadlinesOrdered =
            m_deadlinesOrdered &&
            (m_queue.empty() || request.terms.deadline <= m_queue.front().terms.deadline);
        m_queue.push_front(std::move(request));
    }
    void popFront()
    {
        m_queue.pop_front();
        m_deadlinesOrdered = m_deadlinesOrdered || m_queue.empty();
    }
    // Deadlines grow from front to back (all requests had the same timeout, the usual case):
    // the expired ones are all at the front.
    bool deadlinesOrdered() const noexcept { return m_deadlinesOrdered; }
    void setDeadlinesOrdered() noexcept { m_deadlinesOrdered = true; }

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
    bool m_deadlinesOrdered = true;
};

} // namespace switchboard
