#pragma once

#include <switchboard/protocol/frames.h>

#include <zmq.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard {

// One event of libzmq's socket monitor (zmq_socket_monitor).
struct SocketEvent {
    int id = 0; // one ZMQ_EVENT_*
    // DISCONNECTED, ACCEPTED, CONNECTED, CLOSED: the connection's fd (what ZMQ_SRCFD says of
    // its messages); HANDSHAKE_FAILED_PROTOCOL: a ZMQ_PROTOCOL_ERROR_*; HANDSHAKE_FAILED_AUTH:
    // the ZAP status code; others: see zmq_socket_monitor(3).
    std::uint32_t value = 0;
    std::string_view endpoint; // into the message decoded: valid while its frames live

    // Decodes one monitor message of libzmq 4.x: a frame of a 16-bit event number and a 32-bit
    // value in host order, then a frame with the endpoint. nullopt for anything else.
    [[nodiscard]] static std::optional<SocketEvent> decode(const Frames& frames) noexcept;
};

// What to do with each event of a socket's monitor, in the spirit of cppzmq's zmq::monitor_t
// (a callback per event) but without its blocking poll, so that the monitor's PAIR socket can
// sit in the caller's own zmq_poll or on a Qt notifier:
//
//     SocketMonitor events;
//     events.on(ZMQ_EVENT_DISCONNECTED, [&](const SocketEvent& event) { ... });
//     zmq::socket_t reader = SocketMonitor::start(context, socket, events.events());
//     ... when `reader` is readable: events.drain(reader);
//     SocketMonitor::stop(socket); // before `socket` closes
//
// Callbacks run on the thread that calls dispatch() or drain(); an exception from one leaves
// through that call.
class SocketMonitor {
public:
    using Callback = std::function<void(const SocketEvent& event)>;

    // Calls `callback` for every `event` (one ZMQ_EVENT_*), instead of the one given before.
    // Returns *this, to chain.
    SocketMonitor& on(int event, Callback callback);
    // The events with a callback: the mask to start() the monitor with.
    [[nodiscard]] int events() const noexcept { return m_events; }

    // Calls the callback of the event in `frames`, if it has one. Returns false when `frames`
    // is not a monitor message.
    bool dispatch(const Frames& frames) const;
    void dispatch(const SocketEvent& event) const;
    // Reads and dispatches every message waiting on `reader` (a PAIR from start()), without
    // blocking. Returns how many it read. Throws zmq::error_t (ETERM when the context ends).
    std::size_t drain(zmq::socket_ref reader) const;

    // Starts libzmq's monitor of `socket` for `events` (a ZMQ_EVENT_* mask) on an inproc
    // endpoint of its own (uniqueInprocEndpoint), and returns the PAIR that reads it: connected,
    // linger 0, on `context`, which must be the context of `socket`. libzmq keeps one monitor
    // per socket: a second start() replaces the first. Throws zmq::error_t.
    [[nodiscard]] static zmq::socket_t start(zmq::context_t& context, zmq::socket_ref socket,
                                             int events);
    // Stops the monitor of `socket`; call it while `socket` is still open. Never throws.
    static void stop(zmq::socket_ref socket) noexcept;

private:
    std::vector<std::pair<int, Callback>> m_callbacks;
    int m_events = 0;
};

} // namespace switchboard
