#include "brokerconnection.h"

#include <switchboard/protocol/polluntil.h>

#include <zmq_addon.hpp>

#include <algorithm>
#include <utility>

namespace switchboard::detail {

namespace {

constexpr int kReconnectIntervalMs = 100;
constexpr int kReconnectIntervalMaxMs = 1000;

} // namespace

Clock::time_point deadlineAfter(Clock::time_point now, std::chrono::milliseconds timeout)
{
    if (timeout <= std::chrono::milliseconds::zero()) {
        return now;
    }
    if (timeout >=
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now)) {
        return Clock::time_point::max();
    }
    return now + timeout;
}

BrokerConnection::BrokerConnection(zmq::context_t& context, const std::string& endpoint,
                                   const ClientOptions& options, std::shared_ptr<LinkStatus> status)
    : m_socket(context, zmq::socket_type::dealer)
    , m_endpoint(endpoint)
    , m_status(std::move(status))
{
    options.curve.apply(m_socket);
    m_socket.set(zmq::sockopt::linger, 0);
    m_socket.set(zmq::sockopt::reconnect_ivl, kReconnectIntervalMs);
    m_socket.set(zmq::sockopt::reconnect_ivl_max, kReconnectIntervalMaxMs);
    // Off (the default, said out loud): a request sent while the broker is away waits in the
    // DEALER's queue and goes out when it is back, which is what makes a retry useful.
    m_socket.set(zmq::sockopt::immediate, 0);
    // No bound on that queue: at the default bound (1000 messages) a send while the broker is
    // away blocks, and a blocking send has no timeout. Every queued request belongs to a call
    // that is bounded by its own deadline, so the queue cannot grow faster than calls are made.
    m_socket.set(zmq::sockopt::sndhwm, 0);
    // A host name that resolves to IPv6 addresses gives endpoints "tcp://[addr]:port", which
    // libzmq only reaches with IPv6 on.
    if (endpoint.starts_with("tcp://[")) {
        m_socket.set(zmq::sockopt::ipv6, 1);
    }
    const auto connectionTimeoutMs = static_cast<int>(options.connectionTimeout.count());
    if (connectionTimeoutMs > 0) {
        // ZMTP heartbeats, so that a broker that vanished without closing the connection (a
        // pulled cable, a frozen host) is noticed as a drop too.
        m_socket.set(zmq::sockopt::heartbeat_ivl, std::max(1, connectionTimeoutMs / 3));
        m_socket.set(zmq::sockopt::heartbeat_timeout, connectionTimeoutMs);
    }

    // A connection that drops before its handshake is done was refused: ZAP refused the key
    // (HANDSHAKE_FAILED_AUTH comes first), or the broker could not read the handshake (a wrong
    // server key, one side without CURVE) and closed it. libzmq does not retry a failed
    // handshake by itself.
    m_events
        .on(ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
            [this](const SocketEvent&) {
                m_handshaken = true;
                setStatus(LinkStatus::State::Up);
            })
        .on(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, [this](const SocketEvent&) { onRefused(); })
        .on(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, [this](const SocketEvent&) { onRefused(); })
        .on(ZMQ_EVENT_DISCONNECTED, [this](const SocketEvent&) {
            if (m_handshaken) {
                m_dropped = true;
                setStatus(LinkStatus::State::Down);
            } else {
                onRefused();
            }
            m_handshaken = false;
        });
    m_monitor = SocketMonitor::start(context, m_socket, m_events.events());
    // After the monitor, so that no drop goes unreported.
    m_socket.connect(endpoint);
}

BrokerConnection::~BrokerConnection()
{
    SocketMonitor::stop(m_socket);
}

BrokerConnection::Event BrokerConnection::wait(Clock::time_point until)
{
    zmq::pollitem_t items[] = {{m_socket.handle(), 0, ZMQ_POLLIN, 0},
                               {m_monitor.handle(), 0, ZMQ_POLLIN, 0}};
    for (;;) {
        if (pollUntil(items, 2, until) == 0) {
            return Event::Timeout;
        }
        if ((items[0].revents & ZMQ_POLLIN) != 0) {
            return Event::Message;
        }
        if ((items[1].revents & ZMQ_POLLIN) != 0) {
            // A refused handshake is followed by a drop; the refusal is what the caller needs.
            const bool dropped = takeDisconnects();
            if (takeRefusal()) {
                return Event::AuthRefused;
            }
            if (dropped) {
                return Event::Disconnected;
            }
        }
    }
}

void BrokerConnection::send(Frames& frames)
{
    if (m_refused) {
        reconnect();
    }
    // Never blocking: a DEALER has nowhere to queue once libzmq gave up on its connection (a
    // failed handshake ends the session for good), and a blocking send has no timeout. After
    // connecting anew there is a pipe again, however far away the broker is.
    if (!zmq::send_multipart(m_socket, frames, zmq::send_flags::dontwait)) {
        reconnect();
        // Still nothing: the call's own deadline reports it.
        (void)zmq::send_multipart(m_socket, frames, zmq::send_flags::dontwait);
    }
}

void BrokerConnection::reconnect()
{
    m_refused = false;
    m_newRefusal = false; // that refusal was about the connection replaced here
    m_handshaken = false;
    m_socket.disconnect(m_endpoint);
    m_socket.connect(m_endpoint);
}

bool BrokerConnection::receive(Frames& frames)
{
    frames.clear();
    return zmq::recv_multipart(m_socket, std::back_inserter(frames), zmq::recv_flags::dontwait)
        .has_value();
}

bool BrokerConnection::takeDisconnects()
{
    (void)m_events.drain(m_monitor);
    return std::exchange(m_dropped, false);
}

void BrokerConnection::readEvents()
{
    (void)m_events.drain(m_monitor);
}

void BrokerConnection::setStatus(LinkStatus::State state)
{
    if (m_status) {
        m_status->set(state);
    }
}

void BrokerConnection::onRefused()
{
    setStatus(LinkStatus::State::Down);
    m_refused = true;
    m_newRefusal = true;
}

bool BrokerConnection::takeRefusal() noexcept
{
    return std::exchange(m_newRefusal, false);
}

} // namespace switchboard::detail
