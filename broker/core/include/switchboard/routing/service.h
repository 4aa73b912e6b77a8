#pragma once

#include <switchboard/routing/clientrequest.h>
#include <switchboard/routing/idleworkerlist.h>
#include <switchboard/routing/packedframes.h>
#include <switchboard/routing/requestterms.h>

#include <switchboard/protocol/frames.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <string>

namespace switchboard {

class MeterSlot;

// A client request waiting for a worker: the message as received, with what was read of it.
struct QueuedRequest {
    // [client identity, MDP frames..., body...]. Empty while the request waits in a Service:
    // its frames are then in `packed`, and Service gives them back here (front(), and before
    // the callbacks of removeExpired() and clearQueue()).
    Frames frames;
    ClientRequest request;
    RequestTerms terms;
    std::size_t bytes = 0; // of all frames, counted against RoutingConfig::maxQueuedBytes
    PackedFrames packed{};
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
    using Queue = std::list<QueuedRequest>;

    Service(std::string name, QueueTotals& totals)
        : m_name(std::move(name))
        , m_totals(&totals)
    {}
    ~Service()
    {
        for (const QueuedRequest& request : m_queue) {
            forget(request);
        }
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
    // The waiting requests, first in line first; their frames are packed (QueuedRequest::packed).
    const Queue& queue() const noexcept { return m_queue; }
    bool hasQueued() const noexcept { return !m_queue.empty(); }
    std::size_t queued() const noexcept { return m_queue.size(); }
    // The bytes of the waiting requests (QueuedRequest::bytes).
    std::size_t queuedBytes() const noexcept { return m_queuedBytes; }
    // Arrivals join at the back. Their frames are packed, from request.frames or, when that is
    // empty, as request.packed already holds them.
    void enqueue(QueuedRequest request);
    // A request whose worker died goes back to the front: it was first in line before.
    void requeueFront(QueuedRequest request);
    // The first request, its frames unpacked into `frames` for dispatch.
    QueuedRequest& front();
    void popFront() noexcept;

    // Removes every queued request whose deadline is `now` or earlier, calling
    // onExpired(request) for each (frames unpacked) before it goes: those of one timeout in the
    // order of their deadlines. Returns the earliest deadline left (Clock::time_point::max()
    // when none). Costs what the expired requests cost and one step per timeout in use, not a
    // pass over the queue, however the timeouts interleave.
    template <typename OnExpired>
    Clock::time_point removeExpired(Clock::time_point now, OnExpired&& onExpired);

    // Removes every queued request, calling onRemoved(request) for each (frames unpacked)
    // before it goes.
    template <typename OnRemoved>
    void clearQueue(OnRemoved&& onRemoved);

    // -- Statistics: the observer's slot for this service, or null.
    MeterSlot* meter() const noexcept { return m_meter; }
    void setMeter(MeterSlot* meter) noexcept { m_meter = meter; }

    // Nothing refers to it and nothing waits in it: the registry may forget it.
    bool isUnused() const noexcept { return m_workerCount == 0 && m_queue.empty(); }

private:
    // The waiting requests of one timeout (deadline - receivedAt), in the order of their
    // deadlines: they expire from the front. Without timeouts of the clients' own there is one
    // lane, in the order of the queue.
    using Lane = std::deque<Queue::iterator>;
    static Clock::duration timeoutOf(const QueuedRequest& request) noexcept
    {
        return request.terms.deadline - request.terms.receivedAt;
    }
    void joinLane(Queue::iterator request, bool first);
    void leaveLane(Queue::iterator request) noexcept;

    static void pack(QueuedRequest& request)
    {
        if (!request.frames.empty()) {
            request.packed = PackedFrames(request.frames);
            Frames().swap(request.frames);
        }
    }
    static QueuedRequest& unpacked(QueuedRequest& request)
    {
        if (!request.packed.empty()) {
            request.frames = request.packed.unpack();
        }
        return request;
    }
    void forget(const QueuedRequest& request) noexcept
    {
        --m_totals->requests;
        m_totals->bytes -= request.bytes;
        m_queuedBytes -= request.bytes;
    }

    std::string m_name;
    QueueTotals* m_totals;
    IdleWorkerList m_idle;
    std::size_t m_workerCount = 0;
    Queue m_queue;
    std::size_t m_queuedBytes = 0;
    // By timeout. A lane left empty stays until the next expiry pass (or clearQueue()), so a
    // queue that keeps emptying does not build one anew for every request.
    std::map<Clock::duration, Lane> m_lanes;
    MeterSlot* m_meter = nullptr;
};

inline void Service::joinLane(Queue::iterator request, bool first)
{
    Lane& lane = m_lanes[timeoutOf(*request)];
    const auto deadline = request->terms.deadline;
    const auto earlier = [](Clock::time_point d, Queue::iterator r) {
        return d < r->terms.deadline;
    };
    if (first && (lane.empty() || deadline <= lane.front()->terms.deadline)) {
        lane.push_front(request);
    } else if (lane.empty() || lane.back()->terms.deadline <= deadline) {
        lane.push_back(request); // an arrival: the same timeout from a later `now`
    } else {
        // A requeued request received after another one still waiting (a worker with credit
        // died holding both): rare, and its place is found by its deadline.
        lane.insert(std::upper_bound(lane.begin(), lane.end(), deadline, earlier), request);
    }
}

inline void Service::leaveLane(Queue::iterator request) noexcept
{
    Lane& lane = m_lanes.find(timeoutOf(*request))->second;
    if (lane.front() == request) { // the usual case: the first in line of the queue and the lane
        lane.pop_front();
    } else {
        lane.erase(std::find(lane.begin(), lane.end(), request));
    }
}

inline void Service::enqueue(QueuedRequest request)
{
    pack(request);
    m_queue.push_back(std::move(request));
    joinLane(std::prev(m_queue.end()), false);
    ++m_totals->requests;
    m_totals->bytes += m_queue.back().bytes;
    m_queuedBytes += m_queue.back().bytes;
}

inline void Service::requeueFront(QueuedRequest request)
{
    pack(request);
    m_queue.push_front(std::move(request));
    joinLane(m_queue.begin(), true);
    ++m_totals->requests;
    m_totals->bytes += m_queue.front().bytes;
    m_queuedBytes += m_queue.front().bytes;
}

inline QueuedRequest& Service::front()
{
    return unpacked(m_queue.front());
}

inline void Service::popFront() noexcept
{
    leaveLane(m_queue.begin());
    forget(m_queue.front());
    m_queue.pop_front();
}

template <typename OnExpired>
Service::Clock::time_point Service::removeExpired(Clock::time_point now, OnExpired&& onExpired)
{
    auto earliest = Clock::time_point::max();
    for (auto lane = m_lanes.begin(); lane != m_lanes.end();) {
        Lane& waiting = lane->second;
        while (!waiting.empty() && waiting.front()->terms.deadline <= now) {
            const Queue::iterator request = waiting.front();
            waiting.pop_front();
            onExpired(unpacked(*request));
            forget(*request);
            m_queue.erase(request);
        }
        if (waiting.empty()) {
            lane = m_lanes.erase(lane);
        } else {
            earliest = std::min(earliest, waiting.front()->terms.deadline);
            ++lane;
        }
    }
    return earliest;
}

template <typename OnRemoved>
void Service::clearQueue(OnRemoved&& onRemoved)
{
    for (QueuedRequest& request : m_queue) {
        onRemoved(unpacked(request));
        forget(request);
    }
    m_queue.clear();
    m_lanes.clear();
}

} // namespace switchboard
