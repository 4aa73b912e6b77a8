#pragma once

#include <mutex>
#include <vector>

namespace switchboard::detail {

class BrokerSession;

// What a worker on several brokers shares between its sessions: how many requests it holds
// (received and not yet answered, over every broker), how many handlers run, and which sessions
// are owed a word once either has room again. Each broker knows only what it sent itself, so
// the worker is the one that keeps it within `capacity` requests and `threads` handlers.
//
// Never calls into a session under a lock of the session's: the sessions are told through
// BrokerSession::roomAgain() and handlerSlotFree(), which only set a flag and ring a doorbell,
// so a session may call in here while it holds its own mutex.
class WorkerCapacity {
public:
    WorkerCapacity(int capacity, int threads);

    WorkerCapacity(const WorkerCapacity&) = delete;
    WorkerCapacity& operator=(const WorkerCapacity&) = delete;

    // A REQUEST arrived on `session`. True: it is counted as held. False: the worker holds its
    // capacity already, `session` declines it, and its roomAgain() is called at the next
    // release().
    [[nodiscard]] bool tryHold(BrokerSession& session);
    // Counts a request that cannot be declined (its broker refused the credit extension), even
    // beyond the capacity.
    void holdAnyway() noexcept;
    // `count` held requests were answered, or dropped unanswered.
    void release(int count = 1) noexcept;

    // True: a handler may start, and counts as running until handlerDone(). False: `threads`
    // run already, or sessions that asked before `session` wait: `session` waits in line, and
    // its handlerSlotFree() is called when it is first in line and a slot is free. Slots go in
    // the order sessions asked, so that a broker whose worker session always has another request
    // ready cannot keep a request of another broker waiting for ever.
    [[nodiscard]] bool tryStartHandler(BrokerSession& session);
    void handlerDone() noexcept;
    // `session` holds no more requests waiting for a slot (they were dropped): out of the line.
    void stopWaiting(BrokerSession& session) noexcept;

    // `session` is going away: it is told nothing more.
    void forget(BrokerSession& session) noexcept;

    int held() const;
    int running() const;

private:
    // Under m_mutex.
    void offerSlot() noexcept;

    const int m_capacity;
    const int m_threads;
    mutable std::mutex m_mutex;
    int m_held = 0;
    int m_running = 0;
    std::vector<BrokerSession*> m_declined;       // declined since the worker was last full
    std::vector<BrokerSession*> m_waitingForSlot; // in the order they asked
};

} // namespace switchboard::detail
