#include "heartbeatthread.h"

#include <algorithm>

namespace switchboard::detail {

namespace {
using namespace std::chrono_literals;
}

HeartbeatThread::HeartbeatThread(Tick tick, std::chrono::milliseconds heartbeatInterval)
    : m_tick(std::move(tick))
    // A quarter interval: heartbeats go out early by at most that much, never late, and the
    // thread wakes only four times per interval however many requests pass (a wake-up per
    // request would cost the request path a futex call).
    , m_period(std::max<std::chrono::steady_clock::duration>(heartbeatInterval / 4, 1ms))
{}

HeartbeatThread::~HeartbeatThread()
{
    stop();
}

void HeartbeatThread::start()
{
    m_thread = std::thread([this] { run(); });
}

void HeartbeatThread::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void HeartbeatThread::run()
{
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
        lock.unlock();
        m_tick(std::chrono::steady_clock::now(), m_period);
        lock.lock();
        m_wake.wait_for(lock, m_period, [this] { return m_stop; });
    }
}

} // namespace switchboard::detail
