#include "workercapacity.h"

#include "brokersession.h"

#include <algorithm>

namespace switchboard::detail {

namespace {

// Sessions are few (one per broker), so a vector scanned in full is the cheapest set.
void addOnce(std::vector<BrokerSession*>& sessions, BrokerSession* session)
{
    if (std::find(sessions.begin(), sessions.end(), session) == sessions.end()) {
        sessions.push_back(session);
    }
}

} // namespace

WorkerCapacity::WorkerCapacity(int capacity, int threads)
    : m_capacity(capacity)
    , m_threads(threads)
{
    m_declined.reserve(4);
    m_waitingForSlot.reserve(4);
}

bool WorkerCapacity::tryHold(BrokerSession& session)
{
    std::lock_guard lock(m_mutex);
    if (m_held < m_capacity) {
        ++m_held;
        return true;
    }
    addOnce(m_declined, &session);
    return false;
}

void WorkerCapacity::holdAnyway() noexcept
{
    std::lock_guard lock(m_mutex);
    ++m_held;
}

void WorkerCapacity::release(int count) noexcept
{
    std::lock_guard lock(m_mutex);
    m_held -= count;
    if (m_held < m_capacity && !m_declined.empty()) {
        // Every broker that was declined to waits for a HEARTBEAT before it sends again; all of
        // them get one, and should two send at once, the later is declined again.
        for (BrokerSession* session : m_declined) {
            session->roomAgain();
        }
        m_declined.clear();
    }
}

bool WorkerCapacity::tryStartHandler(BrokerSession& session)
{
    std::lock_guard lock(m_mutex);
    const bool first = m_waitingForSlot.empty() || m_waitingForSlot.front() == &session;
    if (m_running < m_threads && first) {
        ++m_running;
        if (!m_waitingForSlot.empty()) {
            m_waitingForSlot.erase(m_waitingForSlot.begin());
            offerSlot(); // to the next in line, if a slot is left
        }
        return true;
    }
    addOnce(m_waitingForSlot, &session);
    return false;
}

void WorkerCapacity::handlerDone() noexcept
{
    std::lock_guard lock(m_mutex);
    --m_running;
    offerSlot();
}

void WorkerCapacity::stopWaiting(BrokerSession& session) noexcept
{
    std::lock_guard lock(m_mutex);
    std::erase(m_waitingForSlot, &session);
    offerSlot();
}

void WorkerCapacity::offerSlot() noexcept
{
    if (m_running < m_threads && !m_waitingForSlot.empty()) {
        m_waitingForSlot.front()->handlerSlotFree();
    }
}

void WorkerCapacity::forget(BrokerSession& session) noexcept
{
    std::lock_guard lock(m_mutex);
    std::erase(m_declined, &session);
    std::erase(m_waitingForSlot, &session);
    offerSlot();
}

int WorkerCapacity::held() const
{
    std::lock_guard lock(m_mutex);
    return m_held;
}

int WorkerCapacity::running() const
{
    std::lock_guard lock(m_mutex);
    return m_running;
}

} // namespace switchboard::detail
