#pragma once

#include "idleworkerlist.h"

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
};

// A named service: its workers, and the requests waiting for one of them.
class Service {
public:
    explicit Service(std::string name)
        : m_name(std::move(name))
    {}

    const std::string& name() const noexcept { return m_name; }

    IdleWorkerList& idleWorkers() noexcept { return m_idle; }
    std::size_t workerCount() const noexcept { return m_workerCount; }
    void addWorker() noexcept { ++m_workerCount; }
    void removeWorker() noexcept { --m_workerCount; }

    std::deque<QueuedRequest>& queue() noexcept { return m_queue; }
    const std::deque<QueuedRequest>& queue() const noexcept { return m_queue; }

    // Nothing refers to it and nothing waits in it: the registry may forget it.
    bool isUnused() const noexcept { return m_workerCount == 0 && m_queue.empty(); }

private:
    std::string m_name;
    IdleWorkerList m_idle;
    std::size_t m_workerCount = 0;
    std::deque<QueuedRequest> m_queue;
};

} // namespace switchboard
