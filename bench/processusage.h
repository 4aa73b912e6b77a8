#pragma once

#include <QtGlobal>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace switchboard::bench {

// What another process on this machine uses, read from /proc as an outside observer reads it.

// CPU time of every thread of the process so far (user + system), from the scheduler's own
// accounting: the first field of /proc/<pid>/task/*/schedstat, in ns. Threads that ended are
// not counted. 0 when the process is gone.
std::chrono::nanoseconds processCpuTime(qint64 pid);

// Minor page faults of the process so far (minflt of /proc/<pid>/stat): how often it touched
// memory it had not used before. 0 when it is gone.
std::uint64_t processMinorFaults(qint64 pid);

// Its resident set size now (VmRSS of /proc/<pid>/status), in bytes; 0 when it is gone.
std::size_t processRssBytes(qint64 pid);

} // namespace switchboard::bench
