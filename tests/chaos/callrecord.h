#pragma once

#include <atomic>
#include <cstdint>

// What became of one call of the chaos run, as the client library reported it.
struct CallRecord {
    static constexpr int kNotEnded = -1;
    static constexpr int kReplied = 0;

    // How many times the library ended this call: 1, or more for a call answered twice.
    std::atomic<std::uint32_t> endings{0};
    // Written by the first ending, before it counts in ChaosLoad::ended(): kReplied, an error
    // kind (ChaosLoad::outcomeName), or kNotEnded. Atomic, because a run that stalled is read
    // while calls may still end.
    std::atomic<int> outcome{kNotEnded};
    std::atomic<std::int64_t> value{0};
    // steady_clock (CLOCK_MONOTONIC), as the workers' logs have it.
    std::int64_t issuedNs = 0;
    std::int64_t deadlineNs = 0;
    // When the first ending came; 0 until then.
    std::atomic<std::int64_t> endedNs{0};
};
