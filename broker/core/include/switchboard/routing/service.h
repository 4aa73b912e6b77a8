#pragma once

#include <switchboard/routing/clientrequest.h>
#include <switchboard/routing/idleworkerlist.h>
#include <switchboard/routing/requestterms.h>

#include <switchboard/protocol/frames.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>

namespace switchboard {

class MeterSlot;

// The frames of a request while it waits, packed: the bytes of the small frames in one
// allocation of about their size, with the large frames beside them as they came.
//
// Held as zmq::message_t, a waiting 64-byte request costs many times its bytes: each frame is a
// 64-byte zmq_msg_t in a vector of its own, and a frame of more than 33 bytes that libzmq's
// zero-copy decoder produced points into the receive buffer it arrived in (8 KiB and the
// buffer's reference counts), which stays allocated for as long as any message from it lives.
// A long queue of small requests then holds a receive buffer for every few of them.
class PackedFrames {
public:
    // Frames up to this size are copied. Larger ones are kept as they are: libzmq decodes a
    // message that does not fit its 8 KiB receive buffer (ZMQ_IN_BATCH_SIZE) into an allocation
    // of its own, so a copy would cost time and save nothing.
    static constexpr std::size_t kMaxCopied = 8192;

    PackedFrames() = default;
    // Copies the small frames of `frames` and moves the large ones (they are left empty).
    explicit PackedFrames(Frames& frames);

    bool empty() const noexcept { return m_block == nullptr; }
    // The frames again, byte for byte and in order. The pack is empty afterwards.
    Frames unpack();

private:
    // The block: the number of frames (4 bytes), then per frame a varint, (size << 1) for a
    // copied frame and 1 for a kept one, then the bytes of the copied frames.
    std::unique_ptr<std::byte[]> m_block;
    std::unique_ptr<Frames> m_kept; // the large frames, in order; null when there are none
};

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
    }

    std::string m_name;
    QueueTotals* m_totals;
    IdleWorkerList m_idle;
    std::size_t m_workerCount = 0;
    Queue m_queue;
    // By timeout. A lane left empty stays until the next expiry pass (or clearQueue()), so a
    // queue that keeps emptying does not build one anew for every request.
    std::map<Clock::duration, Lane> m_lanes;
    MeterSlot* m_meter = nullptr;
};

namespace packedframes {

inline std::size_t varintSize(std::uint64_t value) noexcept
{
    std::size_t size = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++size;
    }
    return size;
}

inline std::byte* writeVarint(std::byte* out, std::uint64_t value) noexcept
{
    while (value >= 0x80) {
        *out++ = static_cast<std::byte>((value & 0x7f) | 0x80);
        value >>= 7;
    }
    *out++ = static_cast<std::byte>(value);
    return out;
}

inline const std::byte* readVarint(const std::byte* in, std::uint64_t& value) noexcept
{
    value = 0;
    for (int shift = 0;; shift += 7) {
        const auto byte = static_cast<std::uint64_t>(*in++);
        value |= (byte & 0x7f) << shift;
        if (byte < 0x80) {
            return in;
        }
    }
}

} // namespace packedframes

inline PackedFrames::PackedFrames(Frames& frames)
{
    std::size_t header = sizeof(std::uint32_t);
    std::size_t copied = 0;
    std::size_t kept = 0;
    for (const zmq::message_t& frame : frames) {
        if (frame.size() > kMaxCopied) {
            header += 1;
            ++kept;
        } else {
            header += packedframes::varintSize(frame.size() << 1);
            copied += frame.size();
        }
    }
    m_block = std::make_unique_for_overwrite<std::byte[]>(header + copied);
    const auto count = static_cast<std::uint32_t>(frames.size());
    std::memcpy(m_block.get(), &count, sizeof count);
    std::byte* size = m_block.get() + sizeof count;
    std::byte* bytes = m_block.get() + header;
    if (kept != 0) {
        m_kept = std::make_unique<Frames>();
        m_kept->reserve(kept);
    }
    for (zmq::message_t& frame : frames) {
        if (frame.size() > kMaxCopied) {
            size = packedframes::writeVarint(size, 1);
            m_kept->push_back(std::move(frame));
        } else {
            size = packedframes::writeVarint(size, frame.size() << 1);
            if (frame.size() != 0) {
                std::memcpy(bytes, frame.data(), frame.size());
                bytes += frame.size();
            }
        }
    }
}

inline Frames PackedFrames::unpack()
{
    std::uint32_t count = 0;
    std::memcpy(&count, m_block.get(), sizeof count);
    const std::byte* size = m_block.get() + sizeof count;
    // The bytes begin after the list of sizes, which is read once to find its end.
    const std::byte* bytes = size;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint64_t value = 0;
        bytes = packedframes::readVarint(bytes, value);
    }
    Frames frames;
    frames.reserve(count);
    std::size_t nextKept = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint64_t value = 0;
        size = packedframes::readVarint(size, value);
        if (value & 1) {
            frames.push_back(std::move((*m_kept)[nextKept++]));
        } else {
            const auto length = static_cast<std::size_t>(value >> 1);
            frames.emplace_back(bytes, length);
            bytes += length;
        }
    }
    m_block.reset();
    m_kept.reset();
    return frames;
}

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
}

inline void Service::requeueFront(QueuedRequest request)
{
    pack(request);
    m_queue.push_front(std::move(request));
    joinLane(m_queue.begin(), true);
    ++m_totals->requests;
    m_totals->bytes += m_queue.front().bytes;
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
