#include "boundedtcpserver.h"

#include "logging.h"

#include <QTcpSocket>
#include <QTimer>

#include <memory>

#include <unistd.h>

namespace switchboard {

BoundedTcpServer::BoundedTcpServer(ConnectionLimits limits, QObject* parent)
    : QTcpServer(parent)
    , m_limits(limits)
{
    // QTcpServer stops accepting while this many wait for nextPendingConnection(); the HTTP
    // server takes each at once, so this only matters within one burst.
    setMaxPendingConnections(m_limits.maxConnections);
}

void BoundedTcpServer::incomingConnection(qintptr descriptor)
{
    if (m_open.load() >= m_limits.maxConnections) {
        // Closed before Qt wraps it: a flood of connections costs one accept and one close
        // each, and the listener's descriptors stay bounded.
        ::close(static_cast<int>(descriptor));
        warn("closed at once: the listener already has its maximum of connections open",
             ++m_refused);
        return;
    }
    auto* socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        delete socket;
        ::close(static_cast<int>(descriptor));
        return;
    }
    ++m_open;
    QObject::connect(socket, &QObject::destroyed, this, [this] { --m_open; });
    QObject::connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);

    // Started now and again after each answer has left: whatever the client does, a connection
    // lives at most one deadline without a completed request. Only one that had begun a request
    // is worth a warning: Prometheus keeps its connection open between scrapes, and closing that
    // is routine.
    auto* deadline = new QTimer(socket);
    deadline->setSingleShot(true);
    deadline->setInterval(m_limits.requestDeadline);
    auto requestBegun = std::make_shared<bool>(false);
    QObject::connect(deadline, &QTimer::timeout, socket, [this, socket, requestBegun] {
        if (*requestBegun) {
            warn("closed: no complete request within the deadline (a slow client)", ++m_timedOut);
        }
        socket->abort();
    });
    QObject::connect(socket, &QIODevice::bytesWritten, deadline, [socket, deadline, requestBegun] {
        if (socket->bytesToWrite() == 0) {
            *requestBegun = false;
            deadline->start();
        }
    });
    // Connected before the HTTP server's own slot, so it sees the bytes first. The server reads
    // in a transaction that it rolls back until the request is complete, so bytesAvailable() is
    // everything of the request received so far.
    const std::int64_t maxBytes = m_limits.maxRequestBytes;
    QObject::connect(socket, &QIODevice::readyRead, socket, [this, socket, maxBytes, requestBegun] {
        *requestBegun = true;
        if (socket->bytesAvailable() > maxBytes) {
            warn("closed: its request is larger than the listener takes", ++m_oversized);
            // The HTTP server's slot comes next in this emission: it must not read a closed
            // socket.
            QObject::disconnect(socket, &QIODevice::readyRead, nullptr, nullptr);
            socket->abort();
        }
    });
    deadline->start();
    // QTcpServer emits newConnection() once this returns.
    addPendingConnection(socket);
}

void BoundedTcpServer::warn(const char* what, std::uint64_t total)
{
    std::uint64_t suppressed = 0;
    if (!lcBroker().isWarningEnabled() || !m_log.admit(suppressed)) {
        return;
    }
    qCWarning(lcBroker).nospace() << "metrics listener: a connection was " << what << " (" << total
                                  << " so far" << (suppressed ? ", some lines suppressed" : "")
                                  << ")";
}

} // namespace switchboard
