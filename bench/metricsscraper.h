#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace switchboard::bench {

// Prometheus as the broker sees it: a thread that GETs http://ADDR:PORT/metrics every interval
// on a new connection, as Prometheus does by default with keep-alive off, until stopped. Plain
// blocking sockets: it is load, not part of what is measured.
class MetricsScraper {
public:
    MetricsScraper(std::string address, std::chrono::milliseconds interval);
    ~MetricsScraper(); // stop()

    void start();
    void stop();

    std::uint64_t scrapes() const noexcept { return m_scrapes.load(); }
    // Scrapes that did not end in a 200 with a build_info line; the first one's reason.
    std::uint64_t failures() const noexcept { return m_failures.load(); }
    std::string firstFailure() const;

private:
    void run();
    // Empty on success, else why not.
    std::string scrapeOnce() const;

    std::string m_host;
    int m_port = 0;
    std::chrono::milliseconds m_interval;
    std::thread m_thread;
    mutable std::mutex m_mutex;
    std::condition_variable m_stopped;
    bool m_stop = false;
    std::string m_firstFailure;
    std::atomic<std::uint64_t> m_scrapes{0};
    std::atomic<std::uint64_t> m_failures{0};
};

} // namespace switchboard::bench
