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
    // CPU time (user + system) of the thread that routes, the broker's or the proxy's, over the
    // measured interval divided by the requests; 0 where a program does not measure it.
    double cpuUsPerRequest = 0;

    // latenciesNs is reordered (partial sorts).
    static RunStats compute(std::vector<std::int64_t>& latenciesNs,
                            std::chrono::nanoseconds wallTime);
    // The median of each field separately, across repetitions.
    static RunStats median(const std::vector<RunStats>& runs);
};

} // namespace switchboard::bench
