#pragma once

#include <switchboard/monitoring/latencyhistogram.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>

namespace switchboard {

// The latencies of the last kSpanMs, as a ring of one-second slots. A slot is recycled lazily,
// by the first sample that falls in a second it no longer covers, so recording stays O(1) and
// nothing has to tick; reading merges the slots still inside the window. The window therefore
// covers between kSlots - 1 and kSlots seconds, depending on where in the current second one reads.
// Time is passed in rather than read, so tests can drive it.
class LatencyWindow {
public:
    using Clock = std::chrono::steady_clock;
    using SlotHistogram = BasicLatencyHistogram<std::uint32_t>;

    static constexpr std::int64_t kSlots = 10;
    static constexpr std::chrono::milliseconds kSlotSpan{1000};
    static constexpr std::int64_t kSpanMs = kSlots * kSlotSpan.count();

    // Which slot-sized interval of the steady clock `now` falls in.
    static std::int64_t tickOf(Clock::time_point now) noexcept
    {
        return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch())
                   .count() /
               kSlotSpan.count();
    }
    static Clock::time_point startOf(std::int64_t tick) noexcept
    {
        return Clock::time_point(std::chrono::milliseconds(tick * kSlotSpan.count()));
    }
    static bool isLive(std::int64_t slotTick, std::int64_t nowTick) noexcept
    {
        // Compared this way round because an unused slot's tick is INT64_MIN.
        return slotTick <= nowTick && slotTick > nowTick - kSlots;
    }

    void record(std::uint64_t us, Clock::time_point now) noexcept
    {
        Slot& slot = slotFor(tickOf(now));
        slot.histogram.record(us);
    }

    // Adds what the window holds at `now` to `into`.
    void mergeInto(LatencyHistogram& into, Clock::time_point now) const noexcept
    {
        const std::int64_t nowTick = tickOf(now);
        for (const Slot& slot : m_slots) {
            if (isLive(slot.tick, nowTick)) {
                into.merge(slot.histogram);
            }
        }
    }

    LatencySummary summary(Clock::time_point now) const noexcept
    {
        LatencyHistogram merged;
        mergeInto(merged, now);
        return merged.summary();
    }

private:
    struct Slot {
        std::int64_t tick = std::numeric_limits<std::int64_t>::min();
        SlotHistogram histogram;
    };

    Slot& slotFor(std::int64_t tick) noexcept
    {
        Slot& slot = m_slots[static_cast<std::size_t>(((tick % kSlots) + kSlots) % kSlots)];
        if (slot.tick != tick) {
            slot.histogram.clear();
            slot.tick = tick;
        }
        return slot;
    }

    std::array<Slot, kSlots> m_slots{};
};

} // namespace switchboard
