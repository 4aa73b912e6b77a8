#pragma once

#include "benchcase.h"

#include <switchboard/protocol/mdp.h>

#include <zmq.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace switchboard::bench {

// A worker thread with its own DEALER that answers every request with its own args.
//   Broker mode: an 18/MDP worker (or a plain 7/MDP one). READY "echo", then each REQUEST
//                [client, empty, rid, method, args] is answered FINAL (7/MDP: REPLY)
//                [client, empty, rid, 0x00, args].
//   Proxy mode:  behind zmq_proxy's DEALER, [client, empty, rid, method, args] is answered
//                [client, empty, rid, 0x00, args].
// Both modes answer by rewriting the received frames in place and sending them back, so the
// work per request is the same. The thread ends on DISCONNECT or when the context shuts down.
class EchoWorker {
public:
    // `credit` > 0: READY asks for that many requests at once (docs/PROTOCOL.md §11.1), and the
    // broker pipelines requests to it as zmq_proxy does.
    EchoWorker(zmq::context_t& context, std::string endpoint, BenchMode mode,
               mdp::Version version = mdp::Version::V02, int credit = 0);
    ~EchoWorker(); // join(); shut the context down first or the thread may never end

    EchoWorker(const EchoWorker&) = delete;
    EchoWorker& operator=(const EchoWorker&) = delete;

    void start();
    void join();

    // Valid after join(): empty unless the worker saw something it did not expect.
    const std::string& error() const noexcept { return m_error; }
    std::uint64_t requestsAnswered() const noexcept { return m_answered.load(); }

private:
    void run();
    void serve(zmq::socket_t& socket);

    zmq::context_t& m_context;
    std::string m_endpoint;
    BenchMode m_mode;
    mdp::Version m_version;
    int m_credit;
    std::thread m_thread;
    std::string m_error;
    std::atomic<std::uint64_t> m_answered{0};
};

} // namespace switchboard::bench
