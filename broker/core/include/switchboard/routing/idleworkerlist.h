#pragma once

#include <switchboard/routing/registeredworker.h>

#include <cstddef>

namespace switchboard {

// Workers of one service that can take a request, least recently used first. An intrusive
// doubly-linked list: push, pop and removal from the middle are O(1) and never allocate,
// whatever the number of workers.
class IdleWorkerList {
public:
    bool empty() const noexcept { return m_head == nullptr; }
    std::size_t size() const noexcept { return m_size; }
    RegisteredWorker* front() const noexcept { return m_head; }

    void pushBack(RegisteredWorker& worker) noexcept
    {
        if (worker.idleLinked) {
            return;
        }
        worker.idlePrev = m_tail;
        worker.idleNext = nullptr;
        if (m_tail) {
            m_tail->idleNext = &worker;
        } else {
            m_head = &worker;
        }
        m_tail = &worker;
        worker.idleLinked = true;
        ++m_size;
    }

    void remove(RegisteredWorker& worker) noexcept
    {
        if (!worker.idleLinked) {
            return;
        }
        (worker.idlePrev ? worker.idlePrev->idleNext : m_head) = worker.idleNext;
        (worker.idleNext ? worker.idleNext->idlePrev : m_tail) = worker.idlePrev;
        worker.idlePrev = worker.idleNext = nullptr;
        worker.idleLinked = false;
        --m_size;
    }

    RegisteredWorker* popFront() noexcept
    {
        RegisteredWorker* worker = m_head;
        if (worker) {
            remove(*worker);
        }
        return worker;
    }

private:
    RegisteredWorker* m_head = nullptr;
    RegisteredWorker* m_tail = nullptr;
    std::size_t m_size = 0;
};

} // namespace switchboard
