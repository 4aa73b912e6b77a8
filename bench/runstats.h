#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
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

// What the clients of one run measured together: every latency, the interval from the first
// client's start line to the last one's end, and the first error a client reported (empty when
// none did). Clients: LoadClient, LibLoadClient, joined.
struct ClientMeasurements {
    std::vector<std::int64_t> latenciesNs;
    std::chrono::steady_clock::time_point from = std::chrono::steady_clock::time_point::max();
    std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::min();
    std::string error;

    template <typename Clients>
    static ClientMeasurements gather(Clients& clients)
    {
        ClientMeasurements measured;
        for (auto& client : clients) {
            if (!client->error().empty() && measured.error.empty()) {
                measured.error = client->error();
            }
            measured.from = std::min(measured.from, client->measuredFrom());
            measured.until = std::max(measured.until, client->measuredUntil());
            measured.latenciesNs.insert(measured.latenciesNs.end(), client->latenciesNs().begin(),
                                        client->latenciesNs().end());
        }
        return measured;
    }

    RunStats stats() { return RunStats::compute(latenciesNs, until - from); }
};

} // namespace switchboard::bench
