#include "endpointpolicy.h"

#include <zmq.hpp>

#include <cerrno>

namespace switchboard {

bool isLocalEndpoint(const QString& endpoint)
{
    if (endpoint.startsWith(QLatin1String("ipc://")) ||
        endpoint.startsWith(QLatin1String("inproc://"))) {
        return true;
    }
    if (!endpoint.startsWith(QLatin1String("tcp://"))) {
        return false;
    }
    QString host = endpoint.mid(6);
    host = host.left(host.lastIndexOf(QLatin1Char(':')));
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']'))) {
        host = host.mid(1, host.size() - 2);
    }
    return host.startsWith(QLatin1String("127.")) || host == QLatin1String("::1") ||
           host == QLatin1String("localhost") || host == QLatin1String("lo");
}

QString bindFailureReason(const zmq::error_t& error)
{
    switch (error.num()) {
    case EADDRINUSE:
        return QStringLiteral("address already in use");
    case EINVAL:
        return QStringLiteral("malformed endpoint (expected e.g. tcp://127.0.0.1:5555, "
                              "ipc:///tmp/switchboard.sock or inproc://name)");
    case EPROTONOSUPPORT:
        return QStringLiteral("unsupported transport (use tcp, ipc or inproc)");
    case EADDRNOTAVAIL:
    case ENODEV:
        return QStringLiteral("no such local address");
    default:
        return QString::fromLocal8Bit(error.what());
    }
}

} // namespace switchboard
