#include "processmetrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace switchboard::metrics {

namespace {

// Seconds since the Unix epoch at which the machine booted: /proc/stat's btime.
std::optional<double> bootTime()
{
    std::ifstream stat("/proc/stat");
    std::string key;
    while (stat >> key) {
        if (key == "btime") {
            double seconds = 0;
            if (stat >> seconds) {
                return seconds;
            }
            return std::nullopt;
        }
        stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

void appendGauge(std::vector<prometheus::MetricFamily>& families, const char* name,
                 const char* help, prometheus::MetricType type, std::optional<double> value)
{
    if (!value) {
        return;
    }
    prometheus::MetricFamily family{name, help, type, {}};
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) {
        metric.counter.value = *value;
    } else {
        metric.gauge.value = *value;
    }
    family.metric.push_back(metric);
    families.push_back(std::move(family));
}

} // namespace

ProcessMetrics ProcessMetrics::readSelf()
{
    ProcessMetrics process;
    const long ticks = ::sysconf(_SC_CLK_TCK);
    const long pageSize = ::sysconf(_SC_PAGESIZE);
    if (std::ifstream statFile("/proc/self/stat"); statFile && ticks > 0 && pageSize > 0) {
        std::string stat;
        std::getline(statFile, stat);
        // The command name (field 2) may hold spaces and parentheses: fields are counted from
        // after its last ')', which is field 3 onwards.
        const auto close = stat.rfind(')');
        if (close != std::string::npos) {
            std::istringstream fields(stat.substr(close + 1));
            std::string field;
            std::vector<std::string> values; // values[0] is field 3 (state)
            while (fields >> field) {
                values.push_back(field);
            }
            const auto at = [&](std::size_t fieldNumber) { return values.at(fieldNumber - 3); };
            if (values.size() >= 22) {
                try {
                    process.cpuSeconds =
                        double(std::stoull(at(14)) + std::stoull(at(15))) / double(ticks);
                    const auto startTicks = std::stoull(at(22));
                    if (const auto boot = bootTime()) {
                        process.startTimeSeconds = *boot + double(startTicks) / double(ticks);
                    }
                    process.virtualMemoryBytes = double(std::stoull(at(23)));
                    process.residentMemoryBytes = double(std::stoull(at(24))) * double(pageSize);
                } catch (const std::exception&) {
                    // A format this code does not know: leave the figures out.
                }
            }
        }
    }
    std::error_code error;
    std::size_t fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
         it.increment(error)) {
        ++fds;
    }
    if (!error) {
        process.openFds = double(fds);
    }
    if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        process.maxFds = limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
                                                         : double(limit.rlim_cur);
    }
    return process;
}

void ProcessMetrics::appendTo(std::vector<prometheus::MetricFamily>& families) const
{
    using prometheus::MetricType;
    appendGauge(families, "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.", MetricType::Counter,
                cpuSeconds);
    appendGauge(families, "process_resident_memory_bytes", "Resident memory size in bytes.",
                MetricType::Gauge, residentMemoryBytes);
    appendGauge(families, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                MetricType::Gauge, virtualMemoryBytes);
    appendGauge(families, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                openFds);
    appendGauge(families, "process_max_fds", "Maximum number of open file descriptors.",
                MetricType::Gauge, maxFds);
    appendGauge(families, "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                startTimeSeconds);
}

} // namespace switchboard::metrics
