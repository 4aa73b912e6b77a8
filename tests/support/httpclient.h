#pragma once

// A blocking HTTP/1.1 client for tests of the broker's metrics listener, on QTcpSocket's
// waitFor* calls so it needs no event loop: the listener runs on a thread of its own. It reads
// one answer, by Content-Length, and closes.

#include <QByteArray>
#include <QList>
#include <QString>
#include <QTcpSocket>

#include <chrono>
#include <optional>

namespace switchboard::test {

struct HttpReply {
    int status = 0;
    QByteArray contentType;
    QByteArray allow;
    QByteArray body;
};

// `address` is "HOST:PORT" as Broker::metricsAddress() gives it (IPv6 in brackets).
inline std::optional<HttpReply>
httpRequest(const QString& address, const QByteArray& request,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(5000))
{
    const qsizetype colon = address.lastIndexOf(QLatin1Char(':'));
    QString host = address.left(colon);
    host.remove(QLatin1Char('[')).remove(QLatin1Char(']'));
    const auto port = static_cast<quint16>(address.mid(colon + 1).toUInt());
    const int ms = static_cast<int>(timeout.count());

    QTcpSocket socket;
    socket.connectToHost(host, port);
    if (!socket.waitForConnected(ms)) {
        return std::nullopt;
    }
    socket.write(request);
    if (!socket.waitForBytesWritten(ms)) {
        return std::nullopt;
    }
    QByteArray received;
    qsizetype headerEnd = -1;
    qsizetype length = -1;
    while (headerEnd < 0 || received.size() < headerEnd + 4 + length) {
        if (socket.bytesAvailable() == 0 && !socket.waitForReadyRead(ms)) {
            return std::nullopt; // no complete answer: closed or silent
        }
        received += socket.readAll();
        if (headerEnd < 0 && (headerEnd = received.indexOf("\r\n\r\n")) >= 0) {
            length = 0;
            for (const QByteArray& line : received.left(headerEnd).split('\n')) {
                if (line.toLower().startsWith("content-length:")) {
                    length = line.mid(15).trimmed().toLongLong();
                }
            }
        }
    }
    HttpReply reply;
    const QList<QByteArray> lines = received.left(headerEnd).split('\n');
    const QList<QByteArray> statusLine = lines.value(0).split(' ');
    reply.status = statusLine.value(1).toInt();
    for (const QByteArray& raw : lines) {
        const QByteArray line = raw.trimmed();
        const qsizetype separator = line.indexOf(':');
        const QByteArray name = line.left(separator).toLower();
        if (name == "content-type") {
            reply.contentType = line.mid(separator + 1).trimmed();
        } else if (name == "allow") {
            reply.allow = line.mid(separator + 1).trimmed();
        }
    }
    reply.body = received.mid(headerEnd + 4, length);
    return reply;
}

inline std::optional<HttpReply> httpGet(const QString& address, const QByteArray& path)
{
    return httpRequest(address, "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
}

} // namespace switchboard::test
