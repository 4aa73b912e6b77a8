#pragma once

#include "doorbell.h"

#include <switchboard/protocol/frames.h>
#include <switchboard/protocol/mdp.h>
#include <switchboard/worker.h>

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::detail {

class WorkerCapacity;
class WorkerCore;

// The worker's MDP session with the broker: the DEALER socket it registers with (not to be
// confused with the broker's record of a worker, broker/src), and the `threads` threads that
// serve the requests it brings, up to the worker's capacity at once (the READY's credit).
//
// No thread is set aside for the socket and no request is handed from one thread to another on
// its way in: a thread wake-up per request would cost as much as the broker does. Instead one
// idle thread at a time owns the socket: it waits on it for the broker, reads what came, and when
// a REQUEST arrives gives the socket up and runs the handler itself, while another idle thread,
// if any, takes the socket over (leader/followers). Requests that find no free thread wait in
// m_pending, and a thread that returns from a handler takes the next one at once.
//
// While every thread runs a handler nobody owns the socket. Then a thread that finishes sends its
// answer itself, and the worker's HeartbeatThread keeps the session alive (keepAlive()); they take
// turns under m_mutex. While a thread owns the socket, the others' answers wait in m_outbox and
// ring m_doorbell, and the owner sends them. Every change of owner happens under m_mutex, which
// also gives libzmq the full memory barrier it wants when a socket changes threads.
//
// A worker on several brokers has one session per broker, all sharing one WorkerCapacity (null
// for a worker on one broker, whose session alone holds its requests). Then every session
// announces the credit extension, and a REQUEST beyond what the worker holds at once is handed
// back with DECLINE (docs/PROTOCOL.md 11.2) at once rather than left to wait here while that
// broker counts the worker free. So that some thread always reads the socket, such a session has
// one thread more than `threads`; the WorkerCapacity keeps the handlers of all sessions at
// `threads` at once, and an owner that holds a request no thread may start yet keeps the socket
// until handlerSlotFree() rings.
class BrokerSession final {
public:
    using Clock = std::chrono::steady_clock;

    BrokerSession(WorkerCore& core, std::string endpoint, WorkerCapacity* shared);
    ~BrokerSession();

    BrokerSession(const BrokerSession&) = delete;
    BrokerSession& operator=(const BrokerSession&) = delete;

    // Starts the serving threads; the first one to own the socket connects.
    void start();
    // Waits for the serving threads, which end after stop() once every request received was
    // answered, or when the context ends.
    void join();

    // Called by the HeartbeatThread every tick. While no thread owns the socket: takes in what
    // the broker sent (HEARTBEAT, DISCONNECT, and REQUESTs for the next free thread), sends
    // HEARTBEAT when it is due within `slack`, and marks the session lost when the broker has
    // been silent too long. Otherwise does nothing.
    void keepAlive(Clock::time_point now, Clock::duration slack) noexcept;

    // The broker vanished from its name: answers what the session holds, declines what comes
    // after, says DISCONNECT and ends, as stop() does for the whole worker. Thread-safe.
    void retire() noexcept;
    // True once every serving thread has returned: join() will not block.
    bool finished() const noexcept { return m_liveThreads.load(std::memory_order_acquire) == 0; }
    bool retiring() const noexcept { return m_retiring.load(std::memory_order_acquire); }
    const std::string& endpoint() const noexcept { return m_endpoint; }

    // For the WorkerCapacity, under its lock: never blocks, takes no lock.
    // The worker has room again after this session declined: it owes its broker a HEARTBEAT.
    void roomAgain() noexcept;
    // A handler ended on some session: this one may now start the request it holds.
    void handlerSlotFree() noexcept;

private:
    class StreamSink;

    enum class Outcome : std::uint8_t {
        Continue,     // keep serving
        Disconnected, // the broker sent DISCONNECT: reconnect
        Lost,         // the broker went silent, or could not be sent to: reconnect
        Terminated,   // the user ended the context: nothing more can be done
    };

    // A REQUEST received and not yet answered; `registration` tells which READY it came under.
    struct Request {
        Frames frames;
        std::size_t clientFrame = 0;
        std::size_t bodyBegin = 0;
        std::uint64_t registration = 0;
        bool answered = false; // its last answer went to deliver(), which released its hold
    };

    // What every serving thread runs: a waiting request if there is one, else the socket if
    // nobody owns it, else sleep until one of those changes.
    void serveThread(int number);
    // The socket's owner, entered with m_owned set and `lock` held: reconnects when needed,
    // takes in, sends the outbox and heartbeats, and waits on the socket. Returns, still under
    // `lock`, with the socket given up, once there is a request to run or the worker has ended;
    // true when it took a handler slot of the WorkerCapacity for that request.
    bool own(std::unique_lock<std::mutex>& lock);
    // One round of the owner without the lock: takes in, sends the outbox, notices stop(), sends
    // HEARTBEAT when due, and waits on the socket unless there is a request to run (`waitForSlot`:
    // there is one, but no handler slot yet). Never throws.
    Outcome ownerTurn(bool waitForSlot) noexcept;
    // Parses the request's envelope, runs its handler and sends the answer, built in `answer`
    // (the thread's buffer). `number` names the thread in verbose errors.
    void serve(Request& request, Frames& answer, int number);
    // Hands one answer message to the broker: a PARTIAL, or (`last`) the REPLY/FINAL that ends
    // the request. Returns false when it was dropped because the registration it came under is
    // gone: the broker has answered that request WorkerLost already, and would take an answer
    // from a stranger as a protocol violation.
    bool deliver(Frames& message, std::uint64_t registration, bool last);

    // Closes the socket of the current registration and forgets what it held. Under m_mutex.
    void dropRegistration() noexcept;
    // Under m_mutex.
    void closeSocket(std::chrono::milliseconds linger) noexcept;
    // Opens a socket and sends READY; connecting is left to libzmq. Without the lock, by the
    // owner. Throws zmq::error_t.
    void open();
    // `attempt` counts the sockets opened before this one.
    std::string routingId(int attempt) const;
    // Returns false when the worker stopped while it waited.
    bool pauseBeforeReconnect();
    // DISCONNECT, then closes the socket. Under m_mutex, by the owner.
    void sayGoodbye() noexcept;
    // Nothing more to serve: wakes every thread so that they end. Under m_mutex.
    void end() noexcept;
    // Wakes one idle thread when there is something for it: a request, or a socket with no
    // owner. Under m_mutex.
    void wakeIdle() noexcept;

    // Reads and handles, with onMessage(), every message waiting on the socket, into `buffer`;
    // stops at the first that is not Continue. `locked`: the caller holds m_mutex.
    Outcome takeIn(Frames& buffer, bool locked);
    // The one path for what the broker sends, on the owner and on the HeartbeatThread: parses,
    // checks the version, counts the broker alive, and says what HEARTBEAT, DISCONNECT and
    // REQUEST mean.
    Outcome onMessage(Frames& frames, bool locked);
    // Keeps a REQUEST for the next free thread, unless the worker stopped taking them or the
    // broker sent more than the credit allows; on several brokers, declines what the worker has
    // no room for. False when a DECLINE could not be sent.
    bool hold(Frames& frames, const mdp::WorkerMessage& message, bool locked);
    // Sends DECLINE for the request to `clientAddress`; without the lock the socket is the
    // caller's to block on, with it (the HeartbeatThread) only a send that does not block is made.
    bool decline(const zmq::message_t& clientAddress, bool locked);
    // HEARTBEAT now when roomAgain() asked for one. False when it could not be sent.
    bool sendOwedHeartbeat(bool dontwait);
    // A handler slot: always with one broker, else as the WorkerCapacity allows. Under m_mutex.
    bool startHandler();
    // The user ended the ZeroMQ context (ETERM).
    void contextEnded() noexcept;
    // Drops the requests waiting for a thread, and their holds. Under m_mutex.
    void discardPending() noexcept;
    // Sends what the other threads left in m_outbox. Returns false when the broker stopped
    // reading. With `locked` the caller holds m_mutex; otherwise it is taken to look.
    bool flushOutbox(bool locked);

    // Sends a whole message; false when the socket would block (after its send timeout, or at
    // once with `dontwait`). Throws zmq::error_t for anything else.
    bool sendFrames(Frames& frames, bool dontwait);

    WorkerCore& m_core;
    WorkerCapacity* const m_shared; // null on one broker
    const std::string m_endpoint;
    const mdp::Version m_version;
    const int m_threadCount;
    const int m_capacity;
    const Clock::duration m_heartbeatInterval;
    const Clock::duration m_brokerTimeout;
    std::vector<std::thread> m_threads;
    std::atomic<int> m_liveThreads{0};
    std::atomic<bool> m_retiring{false};
    std::atomic<bool> m_heartbeatOwed{false}; // roomAgain() was called
    Doorbell m_doorbell; // rung for the owner when the outbox was empty, or the last answer left

    // The owner's: the socket's connection state and buffers. Only the thread that owns the
    // socket touches them, or, while nobody does, a thread under m_mutex.
    Frames m_in;
    std::deque<Frames> m_sending; // the outbox being sent
    std::chrono::milliseconds m_backoff;
    int m_connections = 0;          // sockets opened so far, for the routing id
    int m_credit = 1;               // what the current READY announced; 1 for a plain READY
    bool m_creditAnnounced = false; // ... with the credit frame
    bool m_plainReady = false;      // the broker refused the credit extension: never again
    bool m_heard = false;           // the broker has sent something on this socket
    bool m_accepted = false;        // ... a REQUEST or HEARTBEAT: it took the READY
    Clock::time_point m_nextHeartbeat;
    Clock::time_point m_brokerExpiry;
    std::optional<zmq::socket_t> m_socket;

    // Shared, under m_mutex.
    std::mutex m_mutex;
    std::condition_variable m_changed;     // for idle threads: a request, a free socket, the end
    std::condition_variable m_outboxSpace; // for a streaming handler waiting on a full outbox
    std::deque<Request> m_pending;
    std::deque<Frames> m_outbox;
    std::uint64_t m_registration = 0; // counts READYs; answers of an older one are dropped
    int m_held = 0;                   // requests of this registration not yet answered
    int m_running = 0;                // handlers running (of any registration)
    int m_idle = 0;                   // threads waiting on m_changed
    bool m_owned = false;             // a thread owns the socket and uses it without the mutex
    bool m_lost = false;              // the registration is lost: the next owner reconnects
    bool m_draining = false;          // stop() was seen: no more requests are taken
    bool m_ended = false;
};

} // namespace switchboard::detail
