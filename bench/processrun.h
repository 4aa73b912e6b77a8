#pragma once

#include "benchcase.h"
#include "runstats.h"

#include <switchboard/protocol/mdp.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace switchboard::bench {

// bench_broker --processes: each run as an outside user would set it up, every piece in a process
// of its own on tcp loopback: the router (the `switchboard` executable, or libzmq's zmq_proxy in a
// bench_broker child), one process per echo worker, and one for the client threads. The CPU per
// request is that of the whole router process (every thread: the event loop and libzmq's I/O
// thread), summed from /proc/<pid>/task/*/schedstat over the measured interval.
struct ProcessRun {
    std::string switchboardExecutable;
    std::string selfExecutable;
    mdp::Version workerVersion = mdp::Version::V01; // plain 7/MDP workers, as most peers are
    mdp::Version clientVersion = mdp::Version::V02;
    // Broker runs only: each worker asks for this credit (0: plain MDP, one request at a time),
    // and is a Switchboard::worker (threads 1, maxInFlight = credit) instead of a raw echo loop.
    int workerCredit = 0;
    bool libraryWorkers = false;
    std::size_t warmupRequests = 500;
    std::chrono::milliseconds timeout{5000};
    // Broker runs only: non-zero starts the broker with --metrics and GETs /metrics this often
    // while the clients are measured (bench_broker --scrape-ms).
    std::chrono::milliseconds scrapeInterval{0};
    bool verbose = false;
};

// One measured run; on any failure prints why and ends the program (as the in-process runs do).
RunStats measureInProcesses(const BenchCase& benchCase, BenchMode mode, std::size_t requests,
                            const ProcessRun& run);

// The children's side, chosen by bench_broker --role: each returns the process's exit code.
// proxy:  binds zmq_proxy on two ephemeral ports, prints "frontend EP" and "backend EP", then
//         "ready" once `workers` workers connected; runs until killed.
int runProxyRole(int workers, std::chrono::milliseconds timeout);
// worker: one echo worker on `endpoint` (raw, or built with workerlib when `library`); runs
//         until DISCONNECT or killed.
int runWorkerRole(const std::string& endpoint, BenchMode mode, mdp::Version version, int credit,
                  bool library);
// client: the case's client threads on `endpoint`; prints "measuring" when they leave the start
// line, then "result <requests> <rps> <p50 µs> <p99 µs>" and exits.
int runClientRole(const std::string& endpoint, BenchMode mode, mdp::Version version,
                  const BenchCase& benchCase, std::size_t requests, std::size_t warmupRequests,
                  std::chrono::milliseconds timeout, const std::string& args);

} // namespace switchboard::bench
