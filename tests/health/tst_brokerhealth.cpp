// The broker's HTTP listener inside a running broker: /readyz through start, serving and
// shutdown, the errors for an address it must not or cannot bind, and hostile HTTP clients (a
// huge header, binary garbage, a slowloris trickle, 10,000 connections at once). After each,
// the broker must still route a plain request and /metrics must answer again.

#include "httpclient.h"
#include "rawpeer.h"
#include "rawworker.h"
#include "testbroker.h"

#include <switchboard/broker/broker.h>

#include <QDir>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <random>
#include <vector>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

BrokerConfig metricsConfig()
{
    BrokerConfig config;
    config.metricsAddress = QStringLiteral("127.0.0.1:0");
    return config;
}

QString statusOf(const HttpReply& reply)
{
    return QJsonDocument::fromJson(reply.body).object().value(QStringLiteral("status")).toString();
}

int openDescriptors()
{
    return static_cast<int>(QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files).size());
}

// A broker with the listener and an echo worker, and a client to check that it routes.
struct ServingBroker {
    TestBroker broker{metricsConfig()};
    RawWorker worker{broker.context(), broker.backend(), "echo",
                     [](const RawWorker::Request& request, RawWorker::Session& session) {
                         session.final(request, request.args);
                     }};
    RawPeer client{broker.context(), broker.frontend()};
    int calls = 0;

    // One plain request through the broker, answered by the worker.
    bool routes()
    {
        const std::string id = "call-" + std::to_string(++calls);
        const std::string args = packArgs(id);
        client.send(mdp02::request("echo", {id, "echo", args}));
        while (const auto reply = client.receive(10s)) {
            if (reply->size() == 6 && (*reply)[3] == id) {
                return (*reply)[4] == kOk && (*reply)[5] == args;
            }
        }
        return false;
    }

    bool scrapes()
    {
        const auto reply = httpGet(broker.metrics(), "/metrics");
        return reply && reply->status == 200 && reply->body.contains("switchboard_build_info");
    }
};

} // namespace

class TestBrokerHealth : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void readyWhileServingNotAfterShutdown();
    void beyondLoopbackIsRefused();
    void portInUseNamesTheAddress();
    void failedStartLeavesNothingListening();
    void hugeHeader();
    void binaryGarbage();
    void slowlorisIsCutOff();
    void tenThousandConnections();
};

void TestBrokerHealth::initTestCase()
{
    // Every test's client side of the flood lives in this process too.
    rlimit limit{};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = limit.rlim_max;
    QCOMPARE(setrlimit(RLIMIT_NOFILE, &limit), 0);
}

void TestBrokerHealth::readyWhileServingNotAfterShutdown()
{
    TestBroker broker(metricsConfig());
    const QString address = broker.metrics();
    QVERIFY2(address.startsWith(QLatin1String("127.0.0.1:")) && !address.endsWith(":0"),
             qPrintable(address));

    auto reply = httpGet(address, "/readyz");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);
    QCOMPARE(reply->contentType, QByteArray("application/json"));
    QCOMPARE(statusOf(*reply), QStringLiteral("ready"));
    reply = httpGet(address, "/livez");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);
    QCOMPARE(statusOf(*reply), QStringLiteral("alive"));
    reply = httpGet(address, "/metrics");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);
    QCOMPARE(reply->contentType, QByteArray("text/plain; version=0.0.4; charset=utf-8"));
    QVERIFY2(reply->body.contains("switchboard_build_info{"), reply->body.constData());

    Broker* running = broker.broker();
    QMetaObject::invokeMethod(
        running, [running] { running->shutdown(); }, Qt::BlockingQueuedConnection);
    reply = httpGet(address, "/readyz");
    QVERIFY(reply);
    QCOMPARE(reply->status, 503);
    QCOMPARE(statusOf(*reply), QStringLiteral("shutting down"));
    // Its loop still turns: alive, just not taking work.
    reply = httpGet(address, "/livez");
    QVERIFY(reply);
    QCOMPARE(reply->status, 200);

    broker.stop();
    QVERIFY2(!httpGet(address, "/readyz"), "the listener outlived its broker");
}

void TestBrokerHealth::beyondLoopbackIsRefused()
{
    zmq::context_t context;
    BrokerConfig config;
    config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.adminEndpoints.clear();
    config.metricsAddress = QStringLiteral("0.0.0.0:0");
    Broker broker(config, context);
    try {
        broker.start();
        QFAIL("the metrics listener was bound beyond loopback without metricsBeyondLoopback");
    } catch (const BindError& error) {
        QCOMPARE(error.endpoint(), QStringLiteral("0.0.0.0:0"));
        QVERIFY2(error.reason().contains(QLatin1String("--metrics-beyond-loopback")), error.what());
    }
    QVERIFY(broker.frontendEndpoints().isEmpty());
    QVERIFY(broker.metricsAddress().isEmpty());

    config.metricsBeyondLoopback = true;
    Broker allowed(config, context);
    allowed.start();
    QVERIFY(allowed.metricsAddress().startsWith(QLatin1String("0.0.0.0:")));
    allowed.shutdown();
}

void TestBrokerHealth::portInUseNamesTheAddress()
{
    QTcpServer holder;
    QVERIFY(holder.listen(QHostAddress::LocalHost));
    BrokerConfig config;
    config.metricsAddress = QStringLiteral("127.0.0.1:%1").arg(holder.serverPort());
    try {
        TestBroker broker(config);
        QFAIL("the metrics port was bound twice");
    } catch (const BindError& error) {
        QCOMPARE(error.endpoint(), config.metricsAddress);
        QVERIFY2(QString::fromUtf8(error.what()).contains(config.metricsAddress), error.what());
        QCOMPARE(error.reason(), QStringLiteral("address already in use"));
    }
}

void TestBrokerHealth::failedStartLeavesNothingListening()
{
    zmq::context_t context;
    zmq::socket_t holder(context, zmq::socket_type::router);
    holder.bind("tcp://127.0.0.1:*");
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost));
    const quint16 port = probe.serverPort();
    probe.close();

    BrokerConfig config;
    config.frontendEndpoints = {QString::fromStdString(holder.get(zmq::sockopt::last_endpoint))};
    config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.adminEndpoints.clear();
    config.metricsAddress = QStringLiteral("127.0.0.1:%1").arg(port);
    Broker broker(config, context);
    QVERIFY_THROWS_EXCEPTION(BindError, broker.start());
    QVERIFY(broker.metricsAddress().isEmpty());
    QVERIFY2(probe.listen(QHostAddress::LocalHost, port),
             "the metrics listener stayed up after the broker failed to start");
}

void TestBrokerHealth::hugeHeader()
{
    ServingBroker serving;
    QTRY_VERIFY_WITH_TIMEOUT(serving.worker.registrations() >= 1, 5000);
    QVERIFY(serving.routes());

    // 1 MiB of one header: the listener closes the connection instead of buffering it.
    const QByteArray request =
        "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Huge: " + QByteArray(1 << 20, 'h') + "\r\n\r\n";
    const auto reply = httpRequest(serving.broker.metrics(), request);
    QVERIFY2(!reply || reply->status == 431 || reply->status == 400,
             "a 1 MiB header was answered as a request");

    QVERIFY(serving.routes());
    QVERIFY(serving.scrapes());
}

void TestBrokerHealth::binaryGarbage()
{
    ServingBroker serving;
    QTRY_VERIFY_WITH_TIMEOUT(serving.worker.registrations() >= 1, 5000);

    std::mt19937 random(42);
    QByteArray garbage(16 * 1024, '\0');
    for (char& byte : garbage) {
        byte = static_cast<char>(random());
    }
    const auto reply = httpRequest(serving.broker.metrics(), garbage + "\r\n\r\n", 3s);
    QVERIFY2(!reply || reply->status == 400, "garbage was answered as a request");

    QVERIFY(serving.routes());
    QVERIFY(serving.scrapes());
}

void TestBrokerHealth::slowlorisIsCutOff()
{
    ServingBroker serving;
    QTRY_VERIFY_WITH_TIMEOUT(serving.worker.registrations() >= 1, 5000);
    const QString address = serving.broker.metrics();

    // A request that never ends, one byte every 100 ms: the traffic of the attack, driven by
    // this thread's event loop.
    QTcpSocket slow;
    QSignalSpy closed(&slow, &QAbstractSocket::disconnected);
    slow.connectToHost(QHostAddress::LocalHost,
                       static_cast<quint16>(address.mid(address.lastIndexOf(':') + 1).toUInt()));
    QVERIFY(slow.waitForConnected(5000));
    QElapsedTimer elapsed;
    elapsed.start();
    const QByteArray start = "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    qsizetype sent = 0;
    QTimer trickle;
    trickle.setInterval(100ms);
    connect(&trickle, &QTimer::timeout, &slow, [&] {
        slow.write(sent < start.size() ? start.mid(sent, 1) : QByteArray("s"));
        ++sent;
    });
    trickle.start();

    // The broker routes and others scrape while the trickle goes on.
    QVERIFY(serving.routes());
    QVERIFY(serving.scrapes());
    QTRY_VERIFY_WITH_TIMEOUT(closed.count() == 1, 30000);
    trickle.stop();
    // By the request deadline (10 s), not by something else.
    QVERIFY2(elapsed.elapsed() >= 9000, qPrintable(QString::number(elapsed.elapsed())));
    QVERIFY(slow.readAll().isEmpty());

    QVERIFY(serving.routes());
    QVERIFY(serving.scrapes());
}

void TestBrokerHealth::tenThousandConnections()
{
    constexpr int kConnections = 10000;
    ServingBroker serving;
    QTRY_VERIFY_WITH_TIMEOUT(serving.worker.registrations() >= 1, 5000);
    const QString address = serving.broker.metrics();
    const int before = openDescriptors();
    rlimit limit{};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_cur < rlim_t{kConnections + 1000}) {
        QSKIP("RLIMIT_NOFILE is below 11000 here: raise the hard limit to run this test");
    }

    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port =
        htons(static_cast<uint16_t>(address.mid(address.lastIndexOf(':') + 1).toUInt()));
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<int> flood;
    flood.reserve(kConnections);
    const auto closeAll = qScopeGuard([&flood] {
        for (const int fd : flood) {
            ::close(fd);
        }
    });
    for (int i = 0; i < kConnections; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        QVERIFY2(fd >= 0, strerror(errno));
        flood.push_back(fd);
        const int result = ::connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof(peer));
        QVERIFY2(result == 0 || errno == EINPROGRESS, strerror(errno));
    }

    // The broker routes while they are open, and the listener holds at most its cap of them.
    for (int i = 0; i < 20; ++i) {
        QVERIFY(serving.routes());
    }
    const int during = openDescriptors() - before - kConnections;
    QVERIFY2(during <= 64 + 16, qPrintable(QStringLiteral("%1 descriptors").arg(during)));

    for (const int fd : flood) {
        ::close(fd);
    }
    flood.clear();
    QVERIFY(serving.routes());
    QTRY_VERIFY_WITH_TIMEOUT(serving.scrapes(), 30000);
}

QTEST_GUILESS_MAIN(TestBrokerHealth)
#include "tst_brokerhealth.moc"
