#pragma once

#include <switchboard/protocol/frames.h>

#include <string>

namespace switchboard {

// What a send did with one message.
enum class Delivery {
    Sent,
    WouldBlock, // the peer's pipe is full (ZMQ_SNDHWM): try again when it reads
    Gone,       // no such peer any more (ROUTER_MANDATORY's EHOSTUNREACH)
};

// The transport end of a worker, as the socket knows it.
struct PeerConnection {
    // The broker's end of the connection (ZMQ_SRCFD), -1 when unknown (inproc): how a
    // connection that closes (RoutingCore::onConnectionClosed) is traced to its worker.
    int id = -1;
    // Where the peer connects from ("Peer-Address"); empty for ipc, inproc or unknown.
    std::string address;
};

// Where the routing core's messages go: the broker's client and worker sockets in production, a
// recording fake in tests. Frames start with the peer's identity. A send moves the frames it
// sends out of `frames`; one that is not Sent leaves them in place.
class Outbox {
public:
    virtual Delivery sendToClient(Frames& frames) = 0;
    virtual Delivery sendToWorker(Frames& frames) = 0;
    // The connection a worker's message (its first frame after the identity) arrived on. Asked
    // once, at READY. Connections closed before this one must have been reported by then.
    virtual PeerConnection connectionOf(const Frames& frames) = 0;

protected:
    ~Outbox() = default;
};

} // namespace switchboard
