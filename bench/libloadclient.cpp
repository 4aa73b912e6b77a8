#include "libloadclient.h"

#include <pthread.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>

namespace switchboard::bench {

namespace {
using Clock = std::chrono::steady_clock;

std::int64_t nanosecondsSince(Clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}
} // namespace

LibLoadClient::LibLoadClient(Client& client, Load load, const std::vector<char>& blob,
                             StartLine& startLine)
    : m_client(client)
    , m_load(load)
    , m_blob(blob)
    , m_startLine(startLine)
{
    m_latenciesNs.reserve(m_load.measuredRequests);
}

LibLoadClient::~LibLoadClient()
{
    join();
}

void LibLoadClient::start()
{
    m_thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "bench-libclient");
        run();
    });
}

void LibLoadClient::join()
{
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void LibLoadClient::run()
{
    bool atStartLine = false;
    try {
        const auto phase = [this](std::size_t requests, bool record) {
            if (m_load.inflight <= 1) {
                runBlocking(requests, record);
            } else {
                runAsync(requests, record);
            }
        };
        phase(m_load.warmupRequests, false);
        atStartLine = true;
        m_startLine.arrive_and_wait();
        m_from = Clock::now();
        phase(m_load.measuredRequests, true);
        m_until = Clock::now();
    } catch (const std::exception& e) {
        m_error = e.what();
        if (!atStartLine) {
            m_startLine.arrive_and_drop();
        }
    }
}

void LibLoadClient::runBlocking(std::size_t requests, bool record)
{
    for (std::size_t i = 0; i < requests; ++i) {
        const auto sentAt = Clock::now();
        const auto reply = m_client.call<msgpack::object_handle>("echo", "echo", m_blob);
        if (record) {
            m_latenciesNs.push_back(nanosecondsSince(sentAt));
        }
        if (reply.get().type != msgpack::type::BIN || reply.get().via.bin.size != m_blob.size()) {
            throw std::runtime_error("echo reply is not the payload sent");
        }
    }
}

void LibLoadClient::runAsync(std::size_t requests, bool record)
{
    // Completions run on the client's I/O thread; this thread only waits for the last one.
    std::mutex mutex;
    std::condition_variable finished;
    std::size_t sent = 0;
    std::size_t done = 0;
    std::string failure;

    std::function<void()> sendNext = [&] {
        const auto sentAt = Clock::now();
        m_client.callThen<msgpack::object_handle>(
            CallOptions{},
            [&, sentAt](CallResult<msgpack::object_handle> result) {
                const std::int64_t latency = nanosecondsSince(sentAt);
                bool more = false;
                {
                    std::lock_guard lock(mutex);
                    if (!result.ok()) {
                        try {
                            std::rethrow_exception(result.error());
                        } catch (const std::exception& e) {
                            failure = e.what();
                        }
                    }
                    if (record) {
                        m_latenciesNs.push_back(latency);
                    }
                    ++done;
                    more = failure.empty() && sent < requests;
                    if (more) {
                        ++sent;
                    }
                }
                if (more) {
                    sendNext();
                } else {
                    finished.notify_one();
                }
            },
            "echo", "echo", m_blob);
    };

    std::size_t window = 0;
    {
        std::lock_guard lock(mutex);
        window = std::min(requests, static_cast<std::size_t>(m_load.inflight));
        sent = window;
    }
    for (std::size_t i = 0; i < window; ++i) {
        sendNext();
    }
    std::unique_lock lock(mutex);
    finished.wait(lock, [&] { return done == sent && (sent == requests || !failure.empty()); });
    if (!failure.empty()) {
        throw std::runtime_error(failure);
    }
}

} // namespace switchboard::bench
