#pragma once

#include <switchboard/monitoring/brokersnapshot.h>

namespace switchboard::test {

// Test fixture: the snapshots of a made-up but plausible broker, one per second from a fixed
// wall-clock time, so that renders are reproducible. Five services and eight workers; ten
// methods from hundreds of microseconds to seconds; a thumbnail service that falls behind, a
// search worker that turns late at tick 30 and a geo worker that expires at tick 40, leaving its
// service starved; events for each of these.
//
// Broker 0 is that broker. Brokers 1, 2, ... are its siblings for a window on several: the same
// services under their own load, workers named after their region ("eu-billing-7f3a"), their
// own admin endpoint, only broker 1 loses its geo worker, and their methods carry histograms
// (made up to match their percentiles) that the monitor merges.
class SyntheticTraffic {
public:
    static constexpr std::int64_t kIntervalMs = 1000;

    explicit SyntheticTraffic(int broker = 0)
        : m_broker(broker)
    {}

    BrokerSnapshot snapshot(int tick) const;
    std::int64_t startMs() const;
    // The admin endpoint a monitor would attach to.
    QString adminEndpoint() const;

private:
    int m_broker;
};

} // namespace switchboard::test
