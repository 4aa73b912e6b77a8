// The broker's HTTP listener on its own: what /readyz, /livez and /metrics answer for each
// state the broker publishes, the errors an operator gets for a bad address, and the answers to
// requests for anything else. The broker's side of it (binding, shutdown) is in tst_brokerhealth.

#include "httpclient.h"
#include "metricslistener.h"
#include "publishedstate.h"

#include <switchboard/broker/broker.h>

#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

#include <memory>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

QJsonObject jsonOf(const HttpReply& reply)
{
    return QJsonDocument::fromJson(reply.body).object();
}

} // namespace

class TestMetricsListener : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readinessFollowsTheBroker();
    void livezFailsWhenTheLoopStalls();
    void metricsBeforeTheFirstPublication();
    void otherPathsAndMethods_data();
    void otherPathsAndMethods();
    void ipv6Loopback();
    void refusesBeyondLoopback();
    void malformedAddress_data();
    void malformedAddress();
    void portInUse();
    void idleKeepAliveIsClosed();
};

void TestMetricsListener::readinessFollowsTheBroker()
{
    auto state = std::make_shared<PublishedState>();
    MetricsListener listener(state, ConnectionLimits{});
    listener.start(QStringLiteral("127.0.0.1:0"), false);
    QVERIFY(listener.address().startsWith(QLatin1String("127.0.0.1:")));
    QVERIFY(!listener.address().endsWith(QLatin1String(":0")));

    // The listener is up before the broker has bound its endpoints.
    auto reply = httpGet(listener.address(), "/readyz");
    QVERIFY(reply);
    QCOMPARE(reply->status, 503);
    QCOMPARE(reply->contentType, QByteArray("application/json"));
    QCOMPARE(jsonOf(*reply).value(QStringLiteral("status")).toString(), QStringLiteral("starting"));
    QCOMPARE(jsonOf(*reply).value(QStringLiteral("reason")).toString(),
             QStringLiteral("endpoints not bound yet"));

    state->setReadiness(PublishedState::Readiness::Ready);
    reply = httpGet(listener.address(), "/readyz");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);
    QCOMPARE(jsonOf(*reply).value(QStringLiteral("status")).toString(), QStringLiteral("ready"));

    state->setReadiness(PublishedState::Readiness::ShuttingDown);
    reply = httpGet(listener.address(), "/readyz");
    QVERIFY(reply);
    QCOMPARE(reply->status, 503);
    QCOMPARE(jsonOf(*reply).value(QStringLiteral("status")).toString(),
             QStringLiteral("shutting down"));
}

void TestMetricsListener::livezFailsWhenTheLoopStalls()
{
    auto state = std::make_shared<PublishedState>();
    MetricsListener listener(state, ConnectionLimits{});
    listener.start(QStringLiteral("127.0.0.1:0"), false);

    state->beat(PublishedState::Clock::now());
    auto reply = httpGet(listener.address(), "/livez");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);
    QCOMPARE(reply->contentType, QByteArray("application/json"));
    QCOMPARE(jsonOf(*reply).value(QStringLiteral("status")).toString(), QStringLiteral("alive"));

    // A broker loop whose last beat is 30 s old is stuck, whatever else still answers.
    state->beat(PublishedState::Clock::now() - 30s);
    reply = httpGet(listener.address(), "/livez");
    QVERIFY(reply);
    QCOMPARE(reply->status, 503);
    QCOMPARE(jsonOf(*reply).value(QStringLiteral("status")).toString(), QStringLiteral("stalled"));
    QVERIFY2(jsonOf(*reply)
                 .value(QStringLiteral("reason"))
                 .toString()
                 .contains(QLatin1String("has not turned for 30 s")),
             reply->body.constData());
}

void TestMetricsListener::metricsBeforeTheFirstPublication()
{
    auto state = std::make_shared<PublishedState>();
    MetricsListener listener(state, ConnectionLimits{});
    listener.start(QStringLiteral("127.0.0.1:0"), false);
    const auto reply = httpGet(listener.address(), "/metrics");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);
    QCOMPARE(reply->contentType, QByteArray("text/plain; version=0.0.4; charset=utf-8"));
    QVERIFY2(reply->body.contains("\nswitchboard_build_info{") ||
                 reply->body.startsWith("switchboard_build_info{"),
             reply->body.constData());
}

void TestMetricsListener::otherPathsAndMethods_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::newRow("unknown path") << QByteArray("GET /debug HTTP/1.1\r\nHost: t\r\n\r\n") << 404;
    QTest::newRow("root") << QByteArray("GET / HTTP/1.1\r\nHost: t\r\n\r\n") << 404;
    QTest::newRow("POST /metrics")
        << QByteArray("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}") << 405;
    QTest::newRow("DELETE /readyz")
        << QByteArray("DELETE /readyz HTTP/1.1\r\nHost: t\r\n\r\n") << 405;
    QTest::newRow("PUT /livez")
        << QByteArray("PUT /livez HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n") << 405;
}

void TestMetricsListener::otherPathsAndMethods()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    auto state = std::make_shared<PublishedState>();
    MetricsListener listener(state, ConnectionLimits{});
    listener.start(QStringLiteral("127.0.0.1:0"), false);
    const auto reply = httpRequest(listener.address(), request);
    QVERIFY(reply);
    QCOMPARE(reply->status, status);
    if (status == 405) {
        QCOMPARE(reply->allow, QByteArray("GET"));
    }
}

void TestMetricsListener::ipv6Loopback()
{
    auto state = std::make_shared<PublishedState>();
    MetricsListener listener(state, ConnectionLimits{});
    try {
        listener.start(QStringLiteral("[::1]:0"), false);
    } catch (const BindError& error) {
        QSKIP(qPrintable(QStringLiteral("no IPv6 loopback here: %1").arg(error.what())));
    }
    QVERIFY2(listener.address().startsWith(QLatin1String("[::1]:")),
             qPrintable(listener.address()));
    const auto reply = httpGet(listener.address(), "/livez");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);
}

void TestMetricsListener::refusesBeyondLoopback()
{
    auto state = std::make_shared<PublishedState>();
    MetricsListener listener(state, ConnectionLimits{});
    try {
        listener.start(QStringLiteral("0.0.0.0:0"), false);
        QFAIL("0.0.0.0 was bound without metricsBeyondLoopback");
    } catch (const BindError& error) {
        QCOMPARE(error.endpoint(), QStringLiteral("0.0.0.0:0"));
        QVERIFY2(error.reason().contains(QLatin1String("--metrics-beyond-loopback")), error.what());
    }
    QVERIFY(listener.address().isEmpty());

    MetricsListener allowed(state, ConnectionLimits{});
    allowed.start(QStringLiteral("0.0.0.0:0"), true);
    QVERIFY(allowed.address().startsWith(QLatin1String("0.0.0.0:")));
}

void TestMetricsListener::malformedAddress_data()
{
    QTest::addColumn<QString>("address");
    QTest::newRow("garbage") << QStringLiteral("garbage");
    QTest::newRow("no port") << QStringLiteral("127.0.0.1");
    QTest::newRow("port too large") << QStringLiteral("127.0.0.1:70000");
    QTest::newRow("port not a number") << QStringLiteral("127.0.0.1:http");
    QTest::newRow("IPv6 without brackets") << QStringLiteral("::1:9464");
    QTest::newRow("a URL") << QStringLiteral("http://127.0.0.1:9464");
    QTest::newRow("empty host") << QStringLiteral(":9464");
}

void TestMetricsListener::malformedAddress()
{
    QFETCH(QString, address);
    auto state = std::make_shared<PublishedState>();
    MetricsListener listener(state, ConnectionLimits{});
    try {
        listener.start(address, false);
        QFAIL("a malformed address was accepted");
    } catch (const BindError& error) {
        QCOMPARE(error.endpoint(), address);
        QVERIFY2(error.reason().contains(QLatin1String("expected ADDR:PORT")), error.what());
    }
}

void TestMetricsListener::portInUse()
{
    QTcpServer holder;
    QVERIFY(holder.listen(QHostAddress::LocalHost));
    const QString address = QStringLiteral("127.0.0.1:%1").arg(holder.serverPort());
    auto state = std::make_shared<PublishedState>();
    MetricsListener listener(state, ConnectionLimits{});
    try {
        listener.start(address, false);
        QFAIL("a port in use was bound");
    } catch (const BindError& error) {
        QCOMPARE(error.endpoint(), address);
        QCOMPARE(error.reason(), QStringLiteral("address already in use"));
    }
}

void TestMetricsListener::idleKeepAliveIsClosed()
{
    auto state = std::make_shared<PublishedState>();
    ConnectionLimits limits;
    limits.requestDeadline = 300ms;
    MetricsListener listener(state, limits);
    listener.start(QStringLiteral("127.0.0.1:0"), false);
    const QString address = listener.address();

    // A keep-alive client that asks once and then says nothing: its connection is not held
    // forever, and closing it is not counted as an attack.
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost,
                         static_cast<quint16>(address.mid(address.lastIndexOf(':') + 1).toUInt()));
    QVERIFY(socket.waitForConnected(5000));
    socket.write("GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
    QByteArray answer;
    while (!answer.contains("\"alive\"") && socket.waitForReadyRead(5000)) {
        answer += socket.readAll();
    }
    QVERIFY2(answer.startsWith("HTTP/1.1 200"), answer.constData());
    QVERIFY(socket.waitForDisconnected(5000));
    QCOMPARE(listener.tcpServer()->timedOut(), 0u);
    QTRY_COMPARE_WITH_TIMEOUT(listener.tcpServer()->openConnections(), 0, 5000);
}

QTEST_GUILESS_MAIN(TestMetricsListener)
#include "tst_metricslistener.moc"
