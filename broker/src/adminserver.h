#pragma once

#include "ratelimitedlog.h"

#include <switchboard/monitoring/brokersnapshot.h>
#include <switchboard/qtzmq/zmqsocketnotifier.h>

#include <msgpack.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

// The broker's side of the admin endpoint (docs/PROTOCOL.md, "Admin protocol"): a ROUTER on the
// broker's thread that answers "snapshot" and "evict". Whatever arrives is answered with a typed
// error or dropped, and counted; nothing a peer sends can throw out of onMessage().
//
// A snapshot is encoded at most once per snapshot interval: every asker within it gets the same
// bytes, handed to libzmq without a copy.
class AdminServer {
public:
    using Clock = std::chrono::steady_clock;

    struct Handlers {
        std::function<BrokerSnapshot()> takeSnapshot;
        // The number of requests the evicted worker held, or nullopt if no worker has that
        // identity.
        std::function<std::optional<std::size_t>(std::string_view identity)> evict;
    };

    // ZMQ_MAXMSGSIZE of the socket: libzmq drops a bigger frame, and the connection it came on,
    // before it is ever allocated in full.
    static constexpr std::int64_t kMaxMessageSize = 64 * 1024;
    // What a request may add up to; every real one is far smaller.
    static constexpr std::size_t kMaxRequestSize = 4096;
    // A peer that asked for a snapshot this recently will probably ask again: the periodic
    // snapshot is encoded ahead for it (offer()).
    static constexpr std::chrono::seconds kInterestSpan{5};

    AdminServer(Handlers handlers, std::chrono::milliseconds snapshotInterval);
    ~AdminServer();

    // The bound socket; its handler must call onMessage().
    void attach(std::unique_ptr<ZmqSocketNotifier> socket);
    void onMessage(Frames& frames);

    // Whether someone asked for a snapshot within kInterestSpan.
    bool wantsSnapshots(Clock::time_point now) const noexcept;
    // A snapshot the broker took anyway (for Broker::snapshotReady): encodes it for the next
    // askers if there are likely to be any.
    void offer(const BrokerSnapshot& snapshot, Clock::time_point now);

    void setReading(bool reading);
    void close(std::chrono::milliseconds linger);

    std::uint64_t requests() const noexcept { return m_requests; }
    std::uint64_t malformed() const noexcept { return m_malformed; }

private:
    void handle(Frames& frames, std::size_t first);
    void answerSnapshot(std::string_view id, const msgpack::object_map& args);
    void answerEvict(std::string_view id, const msgpack::object_map& args);
    void refuse(std::string_view id, std::string_view type, const std::string& message);
    void reply(std::string_view id, bool ok, zmq::message_t payload);
    std::shared_ptr<const std::string> encodedSnapshot(Clock::time_point now);

    Handlers m_handlers;
    std::chrono::milliseconds m_snapshotInterval;
    std::unique_ptr<ZmqSocketNotifier> m_socket;
    Frames m_out;
    std::shared_ptr<const std::string> m_encoded;
    Clock::time_point m_encodedAt{};
    std::optional<Clock::time_point> m_lastAsked;
    std::uint64_t m_requests = 0;
    std::uint64_t m_malformed = 0;
    RateLimitedLog m_log;
};

} // namespace switchboard
