#include "metricsscraper.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace switchboard::bench {

MetricsScraper::MetricsScraper(std::string address, std::chrono::milliseconds interval)
    : m_interval(interval)
{
    const auto colon = address.rfind(':');
    m_host = address.substr(0, colon);
    m_port = std::stoi(address.substr(colon + 1));
}

MetricsScraper::~MetricsScraper()
{
    stop();
}

void MetricsScraper::start()
{
    m_thread = std::thread([this] { run(); });
}

void MetricsScraper::stop()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_stopped.notify_all();
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

std::string MetricsScraper::firstFailure() const
{
    const std::lock_guard lock(m_mutex);
    return m_firstFailure;
}

void MetricsScraper::run()
{
    auto next = std::chrono::steady_clock::now();
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
        lock.unlock();
        const std::string failure = scrapeOnce();
        ++m_scrapes;
        lock.lock();
        if (!failure.empty() && m_failures++ == 0) {
            m_firstFailure = failure;
        }
        // The pace of the scrapes, not a wait for anything: stop() cuts it short.
        next += m_interval;
        m_stopped.wait_until(lock, next, [this] { return m_stop; });
    }
}

std::string MetricsScraper::scrapeOnce() const
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return std::string("socket: ") + std::strerror(errno);
    }
    const timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(static_cast<uint16_t>(m_port));
    ::inet_pton(AF_INET, m_host.c_str(), &peer.sin_addr);
    std::string failure;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof(peer)) != 0) {
        failure = std::string("connect: ") + std::strerror(errno);
    } else {
        const std::string request =
            "GET /metrics HTTP/1.1\r\nHost: " + m_host + "\r\nConnection: close\r\n\r\n";
        std::string response;
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size())) {
            failure = "send failed";
        }
        // Read up to the end of the body by its Content-Length: QHttpServer 6.4 keeps the
        // connection open despite "Connection: close".
        char buffer[16384];
        std::size_t complete = std::string::npos;
        while (failure.empty() && response.size() < complete) {
            const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
            if (got > 0) {
                response.append(buffer, static_cast<std::size_t>(got));
            } else {
                failure = got == 0 ? "closed before the whole answer"
                                   : std::string("recv: ") + std::strerror(errno);
            }
            const auto headerEnd = response.find("\r\n\r\n");
            const auto length = response.find("Content-Length: ");
            if (complete == std::string::npos && headerEnd != std::string::npos &&
                length != std::string::npos && length < headerEnd) {
                complete = headerEnd + 4 + std::stoul(response.substr(length + 16));
            }
        }
        if (failure.empty() && (response.rfind("HTTP/1.1 200", 0) != 0 ||
                                response.find("switchboard_build_info") == std::string::npos)) {
            failure = "unexpected answer: " + response.substr(0, 80);
        }
    }
    ::close(fd);
    return failure;
}

} // namespace switchboard::bench
