#pragma once

#include <prometheus/metric_family.h>

#include <optional>
#include <vector>

namespace switchboard::metrics {

// The standard process_* metrics, with the names and meanings of the official Go client's process
// collector, read from /proc/self at the time of the call (prometheus-cpp has no such collector).
// A figure that cannot be read (no /proc, a changed format) is left out rather than reported as 0.
struct ProcessMetrics {
    std::optional<double> cpuSeconds;          // user + system time
    std::optional<double> residentMemoryBytes; // RSS
    std::optional<double> virtualMemoryBytes;
    std::optional<double> openFds;
    std::optional<double> maxFds;           // the soft RLIMIT_NOFILE
    std::optional<double> startTimeSeconds; // since the Unix epoch

    static ProcessMetrics readSelf();

    void appendTo(std::vector<prometheus::MetricFamily>& families) const;
};

} // namespace switchboard::metrics
