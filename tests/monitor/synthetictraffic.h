#pragma once

#include <switchboard/monitoring/brokersnapshot.h>

namespace switchboard::test {

// Test fixture: the snapshots of a made-up but plausible broker, one per second from a fixed
// wall-clock time, so that renders are reproducible. Five services and eight workers; ten
// methods from hundreds of microseconds to seconds; a thumbnail service that falls behind, a
// search worker that turns late at tick 30 and a geo worker that expires at tick 40, leaving its
// service starved; events for each of these.
class SyntheticTraffic {
public:
    static constexpr std::int64_t kIntervalMs = 1000;

    BrokerSnapshot snapshot(int tick) const;
    std::int64_t startMs() const;
};

} // namespace switchboard::test
