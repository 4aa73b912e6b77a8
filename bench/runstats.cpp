#include "runstats.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace switchboard::bench {

namespace {

// Nearest-rank percentile: the smallest sample with at least q of the samples at or below it.
double percentileUs(std::vector<std::int64_t>& samples, double q)
{
    if (samples.empty()) {
        return 0;
    }
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
    const auto index = std::clamp<std::size_t>(rank, 1, samples.size()) - 1;
    const auto nth = samples.begin() + static_cast<std::ptrdiff_t>(index);
    std::nth_element(samples.begin(), nth, samples.end());
    return static_cast<double>(*nth) / 1000.0;
}

double medianOf(std::vector<double> values)
{
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

} // namespace

RunStats RunStats::compute(std::vector<std::int64_t>& latenciesNs,
                           std::chrono::nanoseconds wallTime)
{
    RunStats stats;
    const double seconds = std::chrono::duration<double>(wallTime).count();
    stats.requestsPerSecond = seconds > 0 ? static_cast<double>(latenciesNs.size()) / seconds : 0;
    stats.p50Us = percentileUs(latenciesNs, 0.50);
    stats.p99Us = percentileUs(latenciesNs, 0.99);
    return stats;
}

RunStats RunStats::median(const std::vector<RunStats>& runs)
{
    std::vector<double> rps, p50, p99, cpu;
    for (const RunStats& run : runs) {
        rps.push_back(run.requestsPerSecond);
        p50.push_back(run.p50Us);
        p99.push_back(run.p99Us);
        cpu.push_back(run.cpuUsPerRequest);
    }
    return {medianOf(std::move(rps)), medianOf(std::move(p50)), medianOf(std::move(p99)),
            medianOf(std::move(cpu))};
}

} // namespace switchboard::bench
