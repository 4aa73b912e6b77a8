#pragma once

#include <zmq.hpp>

#include <atomic>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::bench {

// Plain 7/MDP workers of one service, as many as a test of scale needs (1,000 and more): each a
// DEALER socket of its own in this process, with no library in between. One thread answers for
// all of them, waiting in epoll on their ZMQ_FDs, so a wake-up costs what the sockets with
// something to read cost, not what all of them do: the broker, not this pool, sets the pace.
//
// The context needs ZMQ_MAX_SOCKETS above `count`, and the process a RLIMIT_NOFILE above twice
// `count` (a socket's mailbox and its TCP connection).
class RawWorkerPool {
public:
    // Connects `count` DEALERs to `endpoint`; nothing is sent yet. Throws zmq::error_t.
    RawWorkerPool(zmq::context_t& context, const std::string& endpoint, std::string service,
                  std::size_t count);
    ~RawWorkerPool();
    RawWorkerPool(const RawWorkerPool&) = delete;
    RawWorkerPool& operator=(const RawWorkerPool&) = delete;

    // Every worker sends READY for the service. Until answer() they read nothing: requests the
    // broker sends them wait in their sockets, so each holds what it was given.
    void sendReady();
    // From now on a thread echoes every REQUEST as the REPLY, as fast as it can, until stop(),
    // but never more than `window` answers ahead of `read` (the answers the client has read,
    // counted by the caller): answers a client has not read wait in the broker, holding the
    // receive buffers they came in, and a benchmark of dispatch should not measure that backlog.
    void answer(const std::atomic<std::size_t>& read, std::size_t window);
    // Stops and joins that thread; the sockets stay open until the pool is destroyed.
    void stop();

    std::size_t answered() const noexcept { return m_answered.load(std::memory_order_relaxed); }
    // What went wrong in the answering thread (a DISCONNECT from the broker, a failed call);
    // empty when nothing did. Read after stop().
    const std::string& error() const noexcept { return m_error; }

private:
    void run();
    // Reads and answers until the socket has nothing more to read.
    void serve(std::size_t index);

    std::string m_service;
    std::vector<zmq::socket_t> m_sockets;
    std::vector<zmq::message_t> m_frames; // one message being answered, reused
    std::thread m_thread;
    const std::atomic<std::size_t>* m_read = nullptr;
    std::size_t m_window = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<std::size_t> m_answered{0};
    std::string m_error;
};

} // namespace switchboard::bench
