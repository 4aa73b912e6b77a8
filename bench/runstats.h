#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace switchboard::bench {

// The outcome of one measured run: throughput over the measurement window and latency
// percentiles over every request of every client.
struct RunStats {
    double requestsPerSecond = 0;
    double p50Us = 0;
    double p99Us = 0;

    // latenciesNs is reordered (partial sorts).
    static RunStats compute(std::vector<std::int64_t>& latenciesNs,
                            std::chrono::nanoseconds wallTime);
    // The median of each field separately, across repetitions.
    static RunStats median(const std::vector<RunStats>& runs);
};

} // namespace switchboard::bench
