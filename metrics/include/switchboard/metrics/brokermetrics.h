#pragma once

#include <switchboard/broker/brokercounters.h>
#include <switchboard/monitoring/brokersnapshot.h>

#include <string>

namespace switchboard::metrics {

// The broker's state in the Prometheus text exposition format (version 0.0.4), the body of a
// GET /metrics. Built from what the broker last published, so a scrape never waits for the
// broker's loop; process_* figures are read at the time of the call.
std::string exposition(const BrokerSnapshot& snapshot, const BrokerCounters& counters);

} // namespace switchboard::metrics
