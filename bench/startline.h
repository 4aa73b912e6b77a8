#pragma once

#include <barrier>
#include <functional>

namespace switchboard::bench {

// What happens once every client has reached the start line and before any of them is let go:
// the instant the measured interval begins (bench_broker samples CPU clocks there).
struct StartSignal {
    std::function<void()> action;
    void operator()() noexcept
    {
        if (action) {
            action();
        }
    }
};

// Where the client threads wait for each other between their warm-up and the measurement.
using StartLine = std::barrier<StartSignal>;

} // namespace switchboard::bench
