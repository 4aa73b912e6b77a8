#pragma once

#include <switchboard/monitoring/brokersnapshot.h>

#include <QStringList>

#include <chrono>
#include <cstdint>

namespace switchboard {

class BrokerReporter;
class RoutingCore;
struct BrokerCounters;

// What a snapshot says about the broker besides its routing state.
struct SnapshotHeader {
    std::uint64_t sequence = 0;
    std::chrono::steady_clock::time_point startedAt;
    QStringList frontendEndpoints;
    QStringList backendEndpoints;
    QStringList adminEndpoints;
};

// The monitor's view of the broker at `now`: the core's services, workers (and those recently
// purged) and counters, with the statistics and events the reporter keeps. `counters` are the
// core's plus what the shell counts (admin, CURVE).
BrokerSnapshot buildSnapshot(const SnapshotHeader& header, const RoutingCore& core,
                             const BrokerCounters& counters, const BrokerReporter& reporter,
                             std::chrono::steady_clock::time_point now);

} // namespace switchboard
