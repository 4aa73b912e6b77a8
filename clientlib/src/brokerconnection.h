#pragma once

#include "linkstatus.h"

#include <switchboard/client.h>
#include <switchboard/protocol/frames.h>
#include <switchboard/protocol/socketmonitor.h>

#include <zmq.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace switchboard::detail {

using Clock = std::chrono::steady_clock;

// One DEALER connected to the broker's client endpoint, with a monitor that reports when the
// connection drops: a request in flight on a dropped connection will never be answered, and
// waiting out its timeout would turn a broker restart into a stall.
//
// Like any ZeroMQ socket it belongs to one thread at a time; SocketPool hands it over.
class BrokerConnection {
public:
    // Connects (lazily, as ZeroMQ does). Throws zmq::error_t for an endpoint libzmq rejects.
    // What the monitor reports also goes to `status` (may be null), shared with the other
    // connections to the same broker.
    BrokerConnection(zmq::context_t& context, const std::string& endpoint,
                     const ClientOptions& options, std::shared_ptr<LinkStatus> status = nullptr);
    ~BrokerConnection();

    BrokerConnection(const BrokerConnection&) = delete;
    BrokerConnection& operator=(const BrokerConnection&) = delete;

    enum class Event { Message, Disconnected, AuthRefused, Timeout };

    // Blocks until a message is ready to receive(), the connection dropped, the broker refused
    // the CURVE handshake, or `until` passed. Ready messages are reported before a drop, so
    // that an answer that made it is not lost.
    Event wait(Clock::time_point until);

    // Sends a whole message (its frames are consumed). The DEALER queues it while the broker
    // is away and sends it once the connection is back. After a refused handshake it first
    // connects anew, since libzmq does not retry one by itself.
    void send(Frames& frames);
    // The next whole message, without blocking: false when none is ready.
    [[nodiscard]] bool receive(Frames& frames);

    // Reads the monitor's pending events: true if the connection dropped since the last call.
    [[nodiscard]] bool takeDisconnects();
    // True once per refused handshake seen by takeDisconnects().
    [[nodiscard]] bool takeRefusal() noexcept;
    // Reads the monitor's pending events into the shared LinkStatus, keeping a drop for the
    // next takeDisconnects(): for a connection that sits idle in a pool.
    void readEvents();

    const std::string& endpoint() const noexcept { return m_endpoint; }

    // For pollers that watch more than this connection.
    zmq::socket_t& socket() noexcept { return m_socket; }
    zmq::socket_t& monitor() noexcept { return m_monitor; }

private:
    void reconnect();
    void onRefused();
    void setStatus(LinkStatus::State state);

    zmq::socket_t m_socket;
    SocketMonitor m_events;
    zmq::socket_t m_monitor; // reads m_socket's monitor, for m_events
    std::string m_endpoint;
    std::shared_ptr<LinkStatus> m_status;
    bool m_handshaken = false; // the current connection got through its handshake
    bool m_refused = false;    // libzmq will not try this connection again by itself
    bool m_newRefusal = false; // not yet reported by takeRefusal()
    bool m_dropped = false;    // not yet reported by takeDisconnects()
};

// now + timeout, saturating: a timeout of milliseconds::max() means "never", not an overflow.
Clock::time_point deadlineAfter(Clock::time_point now, std::chrono::milliseconds timeout);

} // namespace switchboard::detail
