#pragma once

#include "ratelimitedlog.h"

#include <QTcpServer>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace switchboard {

// How much a client of the HTTP listener may take. The endpoints answer small GETs, so every
// bound is far above what Prometheus or a Kubernetes probe needs and far below what would let
// one client exhaust the listener.
struct ConnectionLimits {
    // Open connections at once; more are closed as soon as they are accepted.
    int maxConnections = 64;
    // A connection must have sent a complete request within this long of being accepted or of
    // its last answer (slowloris, counted and logged), and one idle for as long is closed
    // (keep-alive, silently).
    std::chrono::milliseconds requestDeadline{10000};
    // Bytes of one request not yet answered: headers of that size are an attack, not a scrape.
    std::int64_t maxRequestBytes = 64 * 1024;
};

// A QTcpServer that applies ConnectionLimits to each connection before QAbstractHttpServer sees
// it: QHttpServer 6.4 has no limits of its own, so a client that never finishes its request
// would hold a socket forever, and one that sends endless headers would grow its buffer.
// Counters are atomics so that other threads may read them.
class BoundedTcpServer : public QTcpServer {
    Q_OBJECT
public:
    explicit BoundedTcpServer(ConnectionLimits limits, QObject* parent = nullptr);

    int openConnections() const noexcept { return m_open.load(); }
    std::uint64_t refused() const noexcept { return m_refused.load(); }
    std::uint64_t timedOut() const noexcept { return m_timedOut.load(); }
    std::uint64_t oversized() const noexcept { return m_oversized.load(); }

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    // One line for each kind of refusal, at most a few a second: a flood must not flood the log.
    void warn(const char* what, std::uint64_t total);

    ConnectionLimits m_limits;
    RateLimitedLog m_log;
    std::atomic<int> m_open{0};
    std::atomic<std::uint64_t> m_refused{0};
    std::atomic<std::uint64_t> m_timedOut{0};
    std::atomic<std::uint64_t> m_oversized{0};
};

} // namespace switchboard
