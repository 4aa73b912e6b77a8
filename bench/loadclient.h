#pragma once

#include "benchcase.h"
#include "startline.h"

#include <switchboard/protocol/mdp.h>

#include <zmq.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::bench {

// A client thread with its own DEALER that keeps a fixed number of echo requests in flight:
// it sends `inflight`, then one more for every reply, until its share is answered. It first
// runs a warm-up phase, then waits at the start line with the other clients, then runs the
// measured phase, recording each request's latency (send to reply) into a preallocated vector.
//   Broker mode: 18/MDP REQUEST ["MDPC02", 0x01, "echo", rid, "echo", args], reply FINAL; or,
//                with Load::clientVersion V01, a plain 7/MDP request [empty, "MDPC01", "echo",
//                rid, "echo", args], reply [empty, "MDPC01", "echo", rid, status, payload].
//   Proxy mode:  [empty, rid, "echo", args], reply [empty, rid, 0x00, args].
class LoadClient {
public:
    struct Load {
        BenchMode mode = BenchMode::Broker;
        mdp::Version clientVersion = mdp::Version::V02; // broker mode only
        int inflight = 1;
        std::size_t warmupRequests = 0;
        std::size_t measuredRequests = 0;
        std::chrono::milliseconds replyTimeout{5000};
    };

    // args is the encoded args frame, shared read-only by every client.
    LoadClient(zmq::context_t& context, std::string endpoint, Load load, const std::string& args,
               StartLine& startLine);
    ~LoadClient(); // join()

    LoadClient(const LoadClient&) = delete;
    LoadClient& operator=(const LoadClient&) = delete;

    void start();
    void join();

    // Valid after join().
    const std::string& error() const noexcept { return m_error; }
    std::vector<std::int64_t>& latenciesNs() noexcept { return m_latenciesNs; }
    std::chrono::steady_clock::time_point measuredFrom() const noexcept { return m_from; }
    std::chrono::steady_clock::time_point measuredUntil() const noexcept { return m_until; }

private:
    void run();
    void runPhase(zmq::socket_t& socket, std::size_t requests, bool record);
    void sendRequest(zmq::socket_t& socket, std::uint64_t requestId);
    std::uint64_t receiveReply(zmq::socket_t& socket);

    zmq::context_t& m_context;
    std::string m_endpoint;
    Load m_load;
    const std::string& m_args;
    StartLine& m_startLine;
    std::thread m_thread;

    std::vector<zmq::message_t> m_reply;
    std::vector<std::chrono::steady_clock::time_point> m_sentAt;
    std::vector<std::int64_t> m_latenciesNs;
    std::chrono::steady_clock::time_point m_from;
    std::chrono::steady_clock::time_point m_until;
    std::string m_error;
};

} // namespace switchboard::bench
