#pragma once

#include <switchboard/protocol/frames.h>
#include <switchboard/worker.h>

#include <zmq.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

namespace switchboard::detail {

class WorkerCore;

// The worker's MDP session with the broker: a thread and the DEALER socket it registers with
// (not to be confused with the broker's record of a worker, broker/src).
//
// The thread serves requests itself (no hand-off, which would cost a thread wake-up per request).
// While it waits for the broker it alone uses the socket; while a handler runs ("busy") it leaves
// the socket to the worker's HeartbeatThread (keepAlive()) and to the handler's StreamWriter,
// which take turns under m_mutex. The mutex also gives libzmq the full memory barrier it wants
// when a socket changes threads.
class BrokerSession final : private ItemSink {
public:
    using Clock = std::chrono::steady_clock;

    // `number` counts from 1, for verbose errors.
    BrokerSession(WorkerCore& core, int number);
    ~BrokerSession() override;

    BrokerSession(const BrokerSession&) = delete;
    BrokerSession& operator=(const BrokerSession&) = delete;

    void start();
    void join();

    // Called by the HeartbeatThread every tick. While a handler runs: takes in what the broker
    // sent (HEARTBEAT, DISCONNECT), sends HEARTBEAT when it is due within `slack`, and marks the
    // session lost when the broker has been silent too long. Otherwise does nothing.
    void keepAlive(Clock::time_point now, Clock::duration slack) noexcept;

private:
    enum class Outcome : std::uint8_t {
        Continue,     // keep serving
        Stopped,      // the worker is stopping: say DISCONNECT and end
        Disconnected, // the broker sent DISCONNECT: reconnect
        Lost,         // the broker went silent, or could not be sent to: reconnect
    };

    void run();
    void open();
    std::string routingId() const;
    void close(std::chrono::milliseconds linger) noexcept;
    Outcome serve();
    // Reads and handles, with onMessage(), every message waiting on the socket, into `buffer`;
    // stops at the first that is not Continue.
    Outcome takeIn(Frames& buffer);
    // The one path for what the broker sends, on the session thread between requests and on the
    // HeartbeatThread (under m_mutex) while a handler runs: parses, checks the version, counts
    // the broker alive, and says what HEARTBEAT, DISCONNECT and, between requests, REQUEST mean.
    Outcome onMessage(Frames& frames);
    Outcome onRequest(Frames& frames, const mdp::WorkerMessage& message);
    Outcome finish(rpc::Status status, zmq::message_t payload);
    // Returns false when the worker stopped while it waited.
    bool pauseBeforeReconnect();
    void sayGoodbye() noexcept;
    void setBusy();

    // Sends a whole message; false when the socket would block (after its send timeout, or at
    // once with `dontwait`). Throws zmq::error_t for anything else.
    bool sendFrames(Frames& frames, bool dontwait);
    // StreamWriter items: one PARTIAL each, sent at once by the handler's thread.
    void send(zmq::message_t item) override;

    WorkerCore& m_core;
    const int m_number;
    int m_connections = 0; // sockets opened so far, for the routing id
    const mdp::Version m_version;
    const Clock::duration m_heartbeatInterval;
    const Clock::duration m_brokerTimeout;
    std::chrono::milliseconds m_backoff;
    std::thread m_thread;

    // Buffers reused across requests, only touched by the session thread.
    Frames m_in;
    Frames m_out;
    // The request being answered: where PARTIALs and the FINAL go.
    zmq::message_t m_client;
    zmq::message_t m_requestId;

    // The socket and what the HeartbeatThread reads and writes: guarded by m_mutex while m_busy;
    // while not busy the session thread owns them (it sets m_busy under the mutex, which orders
    // its accesses before and after).
    std::mutex m_mutex;
    std::optional<zmq::socket_t> m_socket;
    bool m_busy = false;
    bool m_lost = false;  // while busy: the broker said DISCONNECT or went silent
    bool m_heard = false; // the broker has sent something on this socket
    Clock::time_point m_nextHeartbeat;
    Clock::time_point m_brokerExpiry;
};

} // namespace switchboard::detail
