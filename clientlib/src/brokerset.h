#pragma once

#include "remotebroker.h"

#include <switchboard/client.h>
#include <switchboard/protocol/brokerendpoints.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::detail {

// The brokers a client spreads its calls over: one per configured endpoint, or per address of
// a host name, which a thread of its own resolves again every ClientOptions::resolveInterval
// (only when some endpoint names a host). Thread-safe.
class BrokerSet {
public:
    // Resolves host names once, then connects to every broker (lazily, as ZeroMQ does).
    // Throws std::invalid_argument for an empty list, zmq::error_t (EINVAL) for an empty
    // endpoint, a tcp:// one without a port or any other endpoint libzmq rejects.
    BrokerSet(zmq::context_t& context, std::vector<std::string> configured,
              const ClientOptions& options);
    ~BrokerSet();

    BrokerSet(const BrokerSet&) = delete;
    BrokerSet& operator=(const BrokerSet&) = delete;

    const std::vector<std::string>& configured() const noexcept { return m_configured; }
    // Whether the brokers may change: some endpoint names a host, resolved again from time to
    // time.
    bool resolves() const noexcept { return m_resolver.joinable(); }

    // Where the next request goes: among the brokers whose connection is up, the one with
    // fewest requests in flight, ties taken in turn; then brokers not connected yet; a broker
    // known to be down only when no other is left. `avoid` (may be null), the broker a retry
    // comes from, is passed over for any broker that is not down.
    //
    // Null, with `holdForUp`, while there are several brokers, none up and some never
    // connected: the request had better wait for one (waitForUp()) than in the queue of a
    // broker that may never come, such as the first of the list at start-up when it is away.
    std::shared_ptr<RemoteBroker> pick(const RemoteBroker* avoid = nullptr, bool holdForUp = true);
    // Blocks until some broker is up, or `until`.
    void waitForUp(Clock::time_point until) const;

    // The brokers now, and a number that changes whenever they do.
    std::vector<std::shared_ptr<RemoteBroker>> brokers() const;
    std::uint64_t generation() const noexcept
    {
        return m_generation.load(std::memory_order_acquire);
    }

private:
    void update(const std::vector<std::string>& endpoints);
    void resolveLoop();

    zmq::context_t& m_context;
    ClientOptions m_options;
    std::vector<std::string> m_configured;
    BrokerEndpoints m_endpoints; // after construction, only the resolver thread touches it

    mutable std::mutex m_mutex;
    std::vector<std::shared_ptr<RemoteBroker>> m_brokers; // guarded by m_mutex
    bool m_stopping = false;                              // guarded by m_mutex
    std::shared_ptr<UpSignal> m_upSignal = std::make_shared<UpSignal>();
    std::condition_variable m_stop;
    std::atomic<std::uint64_t> m_generation{0};
    std::atomic<std::uint64_t> m_turn{0};
    std::thread m_resolver;
};

} // namespace switchboard::detail
