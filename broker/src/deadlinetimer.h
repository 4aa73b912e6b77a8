#pragma once

#include <QTimer>

#include <algorithm>
#include <chrono>
#include <functional>

namespace switchboard {

// A single-shot timer aimed at a point in time that only ever moves earlier: one timer serves
// many deadlines (queued requests, retries of held answers) at the cost of one comparison each.
// Precise, since a client that asked for 50 ms must not wait for a coarse timer's 5 %.
class DeadlineTimer {
public:
    using Clock = std::chrono::steady_clock;

    DeadlineTimer(QObject* context, std::function<void()> onTimeout)
    {
        m_timer.setSingleShot(true);
        m_timer.setTimerType(Qt::PreciseTimer);
        QObject::connect(&m_timer, &QTimer::timeout, context, std::move(onTimeout));
    }

    // Fires at `at`, unless it already fires sooner.
    void arm(Clock::time_point at)
    {
        if (m_timer.isActive() && m_at <= at) {
            return;
        }
        m_at = at;
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(at - Clock::now());
        m_timer.start(std::max(wait, std::chrono::milliseconds(0)));
    }

    void stop() { m_timer.stop(); }

private:
    QTimer m_timer;
    Clock::time_point m_at; // when m_timer fires, while it is active
};

} // namespace switchboard
