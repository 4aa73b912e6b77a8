#pragma once

#include <switchboard/statistics/latencywindow.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>

namespace switchboard {

// Occurrences per second over the same window and slots as LatencyWindow, so that a method's
// rate and its percentiles always describe the same requests.
class RateWindow {
public:
    using Clock = std::chrono::steady_clock;

    void add(Clock::time_point now, std::uint64_t n = 1) noexcept
    {
        const std::int64_t tick = LatencyWindow::tickOf(now);
        Slot& slot = m_slots[static_cast<std::size_t>(
            ((tick % LatencyWindow::kSlots) + LatencyWindow::kSlots) % LatencyWindow::kSlots)];
        if (slot.tick != tick) {
            slot.tick = tick;
            slot.count = 0;
        }
        slot.count += n;
    }

    std::uint64_t sum(Clock::time_point now) const noexcept
    {
        const std::int64_t nowTick = LatencyWindow::tickOf(now);
        std::uint64_t total = 0;
        for (const Slot& slot : m_slots) {
            if (LatencyWindow::isLive(slot.tick, nowTick)) {
                total += slot.count;
            }
        }
        return total;
    }

    // The rate over the part of the window that has elapsed since `since` (when counting
    // began), but over at least a second, so that a meter one request old does not claim a
    // thousand a second.
    double perSecond(Clock::time_point now, Clock::time_point since) const noexcept
    {
        const auto windowStart =
            LatencyWindow::startOf(LatencyWindow::tickOf(now) - LatencyWindow::kSlots + 1);
        const auto covered = now - std::max(windowStart, since);
        const double seconds = std::max(1.0, std::chrono::duration<double>(covered).count());
        return static_cast<double>(sum(now)) / seconds;
    }

private:
    struct Slot {
        std::int64_t tick = std::numeric_limits<std::int64_t>::min();
        std::uint64_t count = 0;
    };
    std::array<Slot, LatencyWindow::kSlots> m_slots{};
};

} // namespace switchboard
