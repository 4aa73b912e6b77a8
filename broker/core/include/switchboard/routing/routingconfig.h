#pragma once

#include <chrono>
#include <cstddef>

namespace switchboard {

// The routing rules' share of BrokerConfig (brokerconfig.h documents each one): what decides
// where a request goes and when it ends, without endpoints, keys or Qt types.
struct RoutingConfig {
    std::chrono::milliseconds heartbeatInterval{2500};
    int liveness = 3;
    std::size_t maxQueuePerService = 10000;
    std::size_t maxQueuedBytes = std::size_t{256} << 20;
    int maxAttempts = 3;
    std::size_t maxHeldReplyBytesPerClient = std::size_t{64} << 20;
    std::size_t maxHeldReplyBytes = std::size_t{256} << 20;
    std::chrono::milliseconds requestTimeout{10000};
    // Per-method statistics: when off, the observer is not asked for meters.
    bool statistics = true;
};

} // namespace switchboard
