#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::bench {

// What carries the requests from the clients to the echo workers.
enum class BenchMode {
    Broker, // our Majordomo broker: 18/MDP clients and workers
    Proxy,  // libzmq's zmq_proxy (ROUTER -> DEALER): the ceiling we compare against
};

inline std::string_view toString(BenchMode mode) noexcept
{
    return mode == BenchMode::Broker ? "broker" : "proxy";
}

// One load shape: how many client threads, how many requests each keeps in flight, how many
// echo workers serve them and how large the payload is.
struct BenchCase {
    std::string name;
    int clients = 1;
    int inflight = 1;
    int workers = 2;
    std::size_t payloadBytes = 16;
    // Requests measured per repetition, over all clients, unless --requests overrides it.
    std::size_t defaultRequests = 20000;
};

// Defaults chosen so that a bare run of every case takes well under two minutes on two cores.
inline std::vector<BenchCase> standardCases()
{
    return {
        {"lat_1x1", 1, 1, 2, 16, 3000},
        {"thr_4x32_w2", 4, 32, 2, 16, 20000},
        {"thr_4x32_w8", 4, 32, 8, 16, 20000},
        {"big_1x1_64k", 1, 1, 2, 64 * 1024, 1500},
        {"big_4x32_64k", 4, 32, 2, 64 * 1024, 4000},
    };
}

} // namespace switchboard::bench
