#pragma once

#include "boundedtcpserver.h"
#include "publishedstate.h"

#include <QHostAddress>
#include <QString>
#include <QThread>

#include <memory>

namespace switchboard {

class MetricsHttpServer;

// The broker's HTTP listener for /metrics, /livez and /readyz, on a thread of its own with its
// own event loop: scrapes and hostile clients never take time from the broker's loop, and a
// stalled broker loop does not stop /livez from saying so. It reads only PublishedState.
class MetricsListener {
public:
    // "ADDR:PORT" (IPv6 as [::1]:PORT; port 0: any) as an address and port. Throws BindError
    // for anything else.
    struct Address {
        QHostAddress host;
        quint16 port = 0;
    };
    static Address parseAddress(const QString& text);

    MetricsListener(std::shared_ptr<const PublishedState> state, ConnectionLimits limits);
    ~MetricsListener(); // stops the thread

    MetricsListener(const MetricsListener&) = delete;
    MetricsListener& operator=(const MetricsListener&) = delete;

    // Binds and starts serving; returns once it does. Throws BindError for a malformed address,
    // one beyond loopback unless `beyondLoopback`, and one that cannot be bound.
    void start(const QString& address, bool beyondLoopback);
    // The address bound, with the real port ("127.0.0.1:41234", "[::1]:5558"); empty before.
    QString address() const { return m_bound; }
    // Lives on the listener's thread; its counters are atomics. Null before start().
    const BoundedTcpServer* tcpServer() const noexcept { return m_tcp; }

private:
    std::shared_ptr<const PublishedState> m_state;
    ConnectionLimits m_limits;
    std::unique_ptr<QThread> m_thread;
    MetricsHttpServer* m_http = nullptr;
    BoundedTcpServer* m_tcp = nullptr;
    QString m_bound;
};

} // namespace switchboard
