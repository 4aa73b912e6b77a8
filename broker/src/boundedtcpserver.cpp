#include "boundedtcpserver.h"

#include "logging.h"

#include <QTcpSocket>
#include <QTimer>

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
        ++m_refused;
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
    // lives at most one deadline without a completed request.
    auto* deadline = new QTimer(socket);
    deadline->setSingleShot(true);
    deadline->setInterval(m_limits.requestDeadline);
    QObject::connect(deadline, &QTimer::timeout, socket, [this, socket] {
        ++m_timedOut;
        socket->abort();
    });
    QObject::connect(socket, &QIODevice::bytesWritten, deadline, [socket, deadline] {
        if (socket->bytesToWrite() == 0) {
            deadline->start();
        }
    });
    // Connected before the HTTP server's own slot, so it sees the bytes first. The server reads
    // in a transaction that it rolls back until the request is complete, so bytesAvailable() is
    // everything of the request received so far.
    const std::int64_t maxBytes = m_limits.maxRequestBytes;
    QObject::connect(socket, &QIODevice::readyRead, socket, [this, socket, maxBytes] {
        if (socket->bytesAvailable() > maxBytes) {
            ++m_oversized;
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

} // namespace switchboard
