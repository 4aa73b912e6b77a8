#pragma once

#include "startline.h"

#include <switchboard/client.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::bench {

// LoadClient's counterpart through clientlib: a thread calling "echo"."echo" on a shared
// Client. With one request in flight it makes blocking call()s; with more it keeps `inflight`
// callThen() calls going, each completion starting the next. Same phases as LoadClient:
// warm-up, start line, measured phase with a latency per call.
class LibLoadClient {
public:
    struct Load {
        int inflight = 1;
        std::size_t warmupRequests = 0;
        std::size_t measuredRequests = 0;
    };

    LibLoadClient(Client& client, Load load, const std::vector<char>& blob, StartLine& startLine);
    ~LibLoadClient(); // join()

    LibLoadClient(const LibLoadClient&) = delete;
    LibLoadClient& operator=(const LibLoadClient&) = delete;

    void start();
    void join();

    // Valid after join().
    const std::string& error() const noexcept { return m_error; }
    std::vector<std::int64_t>& latenciesNs() noexcept { return m_latenciesNs; }
    std::chrono::steady_clock::time_point measuredFrom() const noexcept { return m_from; }
    std::chrono::steady_clock::time_point measuredUntil() const noexcept { return m_until; }

private:
    void run();
    void runBlocking(std::size_t requests, bool record);
    void runAsync(std::size_t requests, bool record);

    Client& m_client;
    Load m_load;
    const std::vector<char>& m_blob;
    StartLine& m_startLine;
    std::thread m_thread;
    std::vector<std::int64_t> m_latenciesNs;
    std::chrono::steady_clock::time_point m_from;
    std::chrono::steady_clock::time_point m_until;
    std::string m_error;
};

} // namespace switchboard::bench
