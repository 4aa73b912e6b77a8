#pragma once

#include <switchboard/routing/clientrequest.h>
#include <switchboard/routing/idleworkerlist.h>
#include <switchboard/routing/requestterms.h>

#include <switchboard/protocol/frames.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>

namespace switchboard {

class MeterSlot;

// A client request waiting for a worker: the message as received, with what was read of it.
struct QueuedRequest {
    Frames frames; // [client identity, MDP frames..., body...]
    ClientRequest request;
    RequestTerms terms;
    std::size_t bytes = 0; // of all frames, counted against RoutingConfig::maxQueuedBytes
};

// What all services' queues hold together: the broker-wide bound on queued bytes is checked
// against it. Each Service keeps it up to date as its own queue changes.
struct QueueTotals {
    std::size_t requests = 0;
    std::size_t bytes = 0;
};

// A named service: its workers, its idle workers (least recently used first), and the requests
// waiting for one of them, with their count, bytes and deadlines.
class Service {
public:
    using Clock = std::chrono::steady_clock;

    Service(std::string name, QueueTotals& totals)
        : m_name(std::move(name))
        , m_totals(&totals)
    {}
    ~Service()
    {
        clearQueue([](const QueuedRequest&) {});
    }
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    const std::string& name() const noexcept { return m_name; }

    // -- Workers
    IdleWorkerList& idleWorkers() noexcept { return m_idle; }
    const IdleWorkerList& idleWorkers() const noexcept { return m_idle; }
    std::size_t workerCount() const noexcept { return m_workerCount; }
    void addWorker() noexcept { ++m_workerCount; }
    void removeWorker(RegisteredWorker& worker) noexcept
    {
        m_idle.remove(worker);
        --m_workerCount;
    }

    // -- Queue
    const std::deque<QueuedRequest>& queue() const noexcept { return m_queue; }
    bool hasQueued() const noexcept { return !m_queue.empty(); }
    std::size_t queued() const noexcept { return m_queue.size(); }
    // Arrivals join at the back.
    void enqueue(QueuedRequest request);
    // A request whose worker died goes back to the front: it was first in line before.
    void requeueFront(QueuedRequest request);
    QueuedRequest& front() noexcept { return m_queue.front(); }
    void popFront() noexcept;

    // Removes every queued request whose deadline is `now` or earlier, oldest first, calling
    // onExpired(request) for each before it goes. Returns the earliest deadline left
    // (Clock::time_point::max() when none).
    template <typename OnExpired>
    Clock::time_point removeExpired(Clock::time_point now, OnExpired&& onExpired);

    // Removes every queued request, calling onRemoved(request) for each before it goes.
    template <typename OnRemoved>
    void clearQueue(OnRemoved&& onRemoved);

    // -- Statistics: the observer's slot for this service, or null.
    MeterSlot* meter() const noexcept { return m_meter; }
    void setMeter(MeterSlot* meter) noexcept { m_meter = meter; }

    // Nothing refers to it and nothing waits in it: the registry may forget it.
    bool isUnused() const noexcept { return m_workerCount == 0 && m_queue.empty(); }

private:
    void forget(const QueuedRequest& request) noexcept
    {
        --m_totals->requests;
        m_totals->bytes -= request.bytes;
    }

    std::string m_name;
    QueueTotals* m_totals;
    IdleWorkerList m_idle;
    std::size_t m_workerCount = 0;
    std::deque<QueuedRequest> m_queue;
    MeterSlot* m_meter = nullptr;
    // Deadlines grow from front to back (all requests had the same timeout, the usual case):
    // the expired ones are then all at the front.
    bool m_deadlinesOrdered = true;
};

inline void Service::enqueue(QueuedRequest request)
{
    m_deadlinesOrdered = m_deadlinesOrdered && (m_queue.empty() || m_queue.back().terms.deadline <=
                                                                       request.terms.deadline);
    ++m_totals->requests;
    m_totals->bytes += request.bytes;
    m_queue.push_back(std::move(request));
}

inline void Service::requeueFront(QueuedRequest request)
{
    m_deadlinesOrdered =
        m_deadlinesOrdered &&
        (m_queue.empty() || request.terms.deadline <= m_queue.front().terms.deadline);
    ++m_totals->requests;
    m_totals->bytes += request.bytes;
    m_queue.push_front(std::move(request));
}

inline void Service::popFront() noexcept
{
    forget(m_queue.front());
    m_queue.pop_front();
    m_deadlinesOrdered = m_deadlinesOrdered || m_queue.empty();
}

template <typename OnExpired>
Service::Clock::time_point Service::removeExpired(Clock::time_point now, OnExpired&& onExpired)
{
    if (m_deadlinesOrdered) {
        while (!m_queue.empty() && m_queue.front().terms.deadline <= now) {
            onExpired(m_queue.front());
            popFront();
        }
        return m_queue.empty() ? Clock::time_point::max() : m_queue.front().terms.deadline;
    }
    // Requests with timeouts of their own: expired ones may sit anywhere.
    auto kept = m_queue.begin();
    auto earliest = Clock::time_point::max();
    for (auto it = m_queue.begin(); it != m_queue.end(); ++it) {
        if (it->terms.deadline <= now) {
            onExpired(*it);
            forget(*it);
            continue;
        }
        earliest = std::min(earliest, it->terms.deadline);
        if (kept != it) {
            *kept = std::move(*it);
        }
        ++kept;
    }
    m_queue.erase(kept, m_queue.end());
    m_deadlinesOrdered = m_deadlinesOrdered || m_queue.empty();
    return earliest;
}

template <typename OnRemoved>
void Service::clearQueue(OnRemoved&& onRemoved)
{
    for (const QueuedRequest& request : m_queue) {
        onRemoved(request);
        forget(request);
    }
    m_queue.clear();
    m_deadlinesOrdered = true;
}

} // namespace switchboard
