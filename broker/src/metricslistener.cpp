#include "metricslistener.h"

#include "logging.h"
#include "metricshttpserver.h"

#include <switchboard/broker/broker.h>

namespace switchboard {

namespace {

QString hostText(const QHostAddress& host)
{
    return host.protocol() == QAbstractSocket::IPv6Protocol
               ? QStringLiteral("[%1]").arg(host.toString())
               : host.toString();
}

} // namespace

MetricsListener::Address MetricsListener::parseAddress(const QString& text)
{
    const auto malformed = [&text] {
        return BindError(text, QStringLiteral("malformed metrics address (expected ADDR:PORT, "
                                              "e.g. 127.0.0.1:5558, [::1]:5558 or "
                                              "0.0.0.0:5558; port 0 picks a free one)"));
    };
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0) {
        throw malformed();
    }
    QString host = text.left(colon);
    bool ok = false;
    const uint port = text.mid(colon + 1).toUInt(&ok);
    if (!ok || port > 65535) {
        throw malformed();
    }
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']'))) {
        host = host.mid(1, host.size() - 2);
    } else if (host.contains(QLatin1Char(':'))) {
        throw malformed(); // IPv6 needs its brackets, or the port is ambiguous
    }
    Address address;
    if (host == QLatin1String("localhost")) {
        address.host = QHostAddress(QHostAddress::LocalHost);
    } else if (!address.host.setAddress(host)) {
        throw malformed();
    }
    address.port = static_cast<quint16>(port);
    return address;
}

MetricsListener::MetricsListener(std::shared_ptr<const PublishedState> state,
                                 ConnectionLimits limits)
    : m_state(std::move(state))
    , m_limits(limits)
{}

MetricsListener::~MetricsListener()
{
    if (!m_thread) {
        return;
    }
    // Its objects go on their own thread, where their sockets live.
    QMetaObject::invokeMethod(
        m_http,
        [http = m_http] {
            delete http; // and the BoundedTcpServer, its child
        },
        Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
}

void MetricsListener::start(const QString& text, bool beyondLoopback)
{
    const Address address = parseAddress(text);
    if (!address.host.isLoopback() && !beyondLoopback) {
        throw BindError(text,
                        QStringLiteral("the metrics listener may only listen beyond loopback with "
                                       "--metrics-beyond-loopback: anyone who reaches it can read "
                                       "the broker's services, workers and load, unencrypted"));
    }
    auto thread = std::make_unique<QThread>();
    thread->setObjectName(QStringLiteral("switchboard-metrics"));
    thread->start();

    // Created on their own thread, so their socket notifiers and timers belong there.
    QString failure;
    QObject context;
    context.moveToThread(thread.get());
    QMetaObject::invokeMethod(
        &context,
        [&] {
            auto http = std::make_unique<MetricsHttpServer>(m_state);
            auto* tcp = new BoundedTcpServer(m_limits, http.get());
            if (!tcp->listen(address.host, address.port)) {
                failure = tcp->errorString();
                if (tcp->serverError() == QAbstractSocket::AddressInUseError) {
                    failure = QStringLiteral("address already in use");
                }
                return;
            }
            http->bind(tcp);
            m_bound = QStringLiteral("%1:%2").arg(hostText(address.host)).arg(tcp->serverPort());
            m_tcp = tcp;
            m_http = http.release();
        },
        Qt::BlockingQueuedConnection);
    if (!m_http) {
        thread->quit();
        thread->wait();
        throw BindError(text, failure);
    }
    m_thread = std::move(thread);
    qCInfo(lcBroker).noquote() << "metrics, liveness and readiness on http://" + m_bound
                               << "(/metrics, /livez, /readyz)";
}

} // namespace switchboard
