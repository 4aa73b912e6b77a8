// The admin endpoint: AdminClient against a real broker, raw DEALERs sending what a confused or
// hostile peer would, the broker restarting under a polling client, and the snapshot codec.

#include "rawpeer.h"
#include "rawworker.h"
#include "testbroker.h"

#include <switchboard/monitoring/adminclient.h>
#include <switchboard/monitoring/adminprotocol.h>
#include <switchboard/monitoring/snapshotcodec.h>
#include <switchboard/protocol/error.h>

#include <QSignalSpy>
#include <QTest>

#include <random>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

Q_DECLARE_METATYPE(switchboard::test::Message)
Q_DECLARE_METATYPE(std::string)

namespace {

const std::string kHeader = "SBADM1";
const std::string kEmptyMap = "\x80";

BrokerConfig adminConfig()
{
    BrokerConfig config;
    config.heartbeatInterval = 100ms;
    config.liveness = 50; // silent test workers stay for 5 s
    config.snapshotInterval = 100ms;
    return config;
}

AdminClient::Options quickOptions()
{
    AdminClient::Options options;
    options.pollInterval = 50ms;
    options.timeout = 500ms;
    return options;
}

// An 18/MDP worker that only registers; the test answers for it, or not at all.
struct ManualWorker {
    ManualWorker(TestBroker& broker, const std::string& identity, const std::string& service)
        : peer(broker.context(), broker.backend(), identity)
    {
        peer.send(mdp02::ready(service));
    }
    bool disconnected()
    {
        while (auto message = peer.receive(5000ms)) {
            if (*message == mdp02::disconnect()) {
                return true;
            }
        }
        return false;
    }
    RawPeer peer;
};

// The error map of an admin error reply.
std::pair<std::string, std::string> failureOf(const std::string& payload)
{
    const auto handle = msgpack::unpack(payload.data(), payload.size());
    std::pair<std::string, std::string> failure;
    for (const auto& [key, value] : handle.get().as<std::map<std::string, std::string>>()) {
        if (key == "type") {
            failure.first = value;
        } else if (key == "message") {
            failure.second = value;
        }
    }
    return failure;
}

void compareContent(const BrokerSnapshot& remote, const BrokerSnapshot& local)
{
    QCOMPARE(remote.frontendEndpoints, local.frontendEndpoints);
    QCOMPARE(remote.backendEndpoints, local.backendEndpoints);
    QCOMPARE(remote.adminEndpoints, local.adminEndpoints);
    QCOMPARE(remote.heartbeatIntervalMs, local.heartbeatIntervalMs);
    QCOMPARE(remote.liveness, local.liveness);
    QCOMPARE(remote.version, local.version);
    QCOMPARE(remote.totals.requests, local.totals.requests);
    QCOMPARE(remote.totals.errors, local.totals.errors);
    QCOMPARE(remote.totals.workersRegistered, local.totals.workersRegistered);

    QCOMPARE(remote.services.size(), local.services.size());
    for (qsizetype i = 0; i < local.services.size(); ++i) {
        QCOMPARE(remote.services[i].name, local.services[i].name);
        QCOMPARE(remote.services[i].requests, local.services[i].requests);
        QCOMPARE(remote.services[i].errors, local.services[i].errors);
        QCOMPARE(remote.services[i].idleWorkers, local.services[i].idleWorkers);
        QCOMPARE(remote.services[i].queueDepth, local.services[i].queueDepth);
    }
    QCOMPARE(remote.methods.size(), local.methods.size());
    for (qsizetype i = 0; i < local.methods.size(); ++i) {
        QCOMPARE(remote.methods[i].service, local.methods[i].service);
        QCOMPARE(remote.methods[i].method, local.methods[i].method);
        QCOMPARE(remote.methods[i].calls, local.methods[i].calls);
        QCOMPARE(remote.methods[i].errors, local.methods[i].errors);
        QCOMPARE(remote.methods[i].sinceStart, local.methods[i].sinceStart);
        QCOMPARE(remote.methods[i].window, local.methods[i].window);
    }
    QCOMPARE(remote.workers.size(), local.workers.size());
    for (qsizetype i = 0; i < local.workers.size(); ++i) {
        QCOMPARE(remote.workers[i].identity, local.workers[i].identity);
        QCOMPARE(remote.workers[i].name, local.workers[i].name);
        QCOMPARE(remote.workers[i].service, local.workers[i].service);
        QCOMPARE(remote.workers[i].protocol, local.workers[i].protocol);
        QCOMPARE(remote.workers[i].peerAddress, local.workers[i].peerAddress);
        QCOMPARE(remote.workers[i].served, local.workers[i].served);
        QCOMPARE(remote.workers[i].errors, local.workers[i].errors);
    }
}

// Every field set to something other than its default, and text that is not ASCII.
BrokerSnapshot fullSnapshot()
{
    BrokerSnapshot snapshot;
    snapshot.sequence = 18446744073709551615ull;
    snapshot.timeMs = 1764612000123;
    snapshot.uptimeMs = 86400000;
    snapshot.version = QStringLiteral("0.1.0");
    snapshot.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:5555"),
                                  QStringLiteral("ipc:///tmp/sb.sock")};
    snapshot.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:5556")};
    snapshot.adminEndpoints = {QStringLiteral("tcp://127.0.0.1:5557")};
    snapshot.heartbeatIntervalMs = 2500;
    snapshot.liveness = 3;
    snapshot.totals = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 123.25, 11,
                       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,     23};
    snapshot.services = {{QStringLiteral("échos"), 1, 2, 3, 4.5, 0.25, 100, 7, 3},
                         {QStringLiteral("zeta"), 0, 0, 0, 0, 0, 0, 0, 0}};
    MethodStats method;
    method.service = QStringLiteral("échos");
    method.method = QStringLiteral("upper");
    method.calls = 100;
    method.errors = 7;
    method.callsPerSecond = 9.75;
    method.errorsPerSecond = 0.5;
    method.window = {{10, 1, 2, 3, 4}, {10, 5, 6, 7, 8}, {10, 9, 10, 11, 12}};
    method.sinceStart = {
        {100, 13, 14, 15, 4294967296000}, {100, 17, 18, 19, 20}, {100, 21, 22, 23, 24}};
    snapshot.methods = {method};
    WorkerStats worker;
    worker.identity = QByteArray("\x00\x80\x00\x00\x29", 5);
    worker.name = QStringLiteral("0080000029");
    worker.peerAddress = QStringLiteral("127.0.0.1");
    worker.service = QStringLiteral("échos");
    worker.protocol = QStringLiteral("MDPW01");
    worker.state = WorkerStats::State::Late;
    worker.currentMethod = QStringLiteral("upper");
    worker.busyForMs = 1234;
    worker.served = 99;
    worker.errors = 6;
    worker.lastSeenAgeMs = 3000;
    worker.livenessLeft = 1;
    worker.connectedForMs = 60000;
    WorkerStats expired = worker;
    expired.state = WorkerStats::State::Expired;
    expired.livenessLeft = 0;
    snapshot.workers = {worker, expired};
    snapshot.events = {
        {41, 1764612000000, BrokerEvent::Kind::WorkerEvicted, QStringLiteral("échos"),
         QStringLiteral("0080000029"), QStringLiteral("evicted worker 0080000029"), 1},
        {42,
         1764612000500,
         BrokerEvent::Kind::RequestExpired,
         QStringLiteral("zeta"),
         {},
         QStringLiteral("12 more requests expired"),
         12},
        {43,
         1764612001000,
         BrokerEvent::Kind::ClientNotReading,
         {},
         {},
         QStringLiteral("client 006b8b4567 is not reading"),
         1},
        {44,
         1764612001000,
         BrokerEvent::Kind::ClientAtBound,
         {},
         {},
         QStringLiteral("client 006b8b4567 has 67108864 bytes of answers it has not read"),
         1},
        {45,
         1764612002000,
         BrokerEvent::Kind::RepliesDropped,
         {},
         {},
         QStringLiteral("dropped 12 answers held for client 006b8b4567"),
         3},
    };
    return snapshot;
}

// The same msgpack map with one key left out.
std::string withoutKey(const std::string& encoded, const std::string& key)
{
    const auto handle = msgpack::unpack(encoded.data(), encoded.size());
    const auto& map = handle.get().via.map;
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(map.size - 1);
    for (std::uint32_t i = 0; i < map.size; ++i) {
        if (map.ptr[i].key.as<std::string>() != key) {
            packer.pack(map.ptr[i].key);
            packer.pack(map.ptr[i].val);
        }
    }
    return std::string(buffer.data(), buffer.size());
}

// The same map with one key's value replaced.
template <typename T>
std::string withValue(const std::string& encoded, const std::string& key, const T& value)
{
    const auto handle = msgpack::unpack(encoded.data(), encoded.size());
    const auto& map = handle.get().via.map;
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(map.size);
    for (std::uint32_t i = 0; i < map.size; ++i) {
        packer.pack(map.ptr[i].key);
        if (map.ptr[i].key.as<std::string>() == key) {
            packer.pack(value);
        } else {
            packer.pack(map.ptr[i].val);
        }
    }
    return std::string(buffer.data(), buffer.size());
}

} // namespace

class TestAdmin : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void snapshotMatchesTheBroker();
    void evictOverAdmin();
    void hostileRequestsGetTypedErrors_data();
    void hostileRequestsGetTypedErrors();
    void hugeFrameIsDroppedAndBrokerServes();
    void reqSocketWorks();
    void reconnectsAfterBrokerRestart();
    void unreachableBrokerIsReported();
    void adminEndpointInUseIsABindError();
    void codecRoundTrip();
    void codecRoundTripOfARealSnapshot();
    void codecRejectsMalformedInput_data();
    void codecRejectsMalformedInput();
    void codecSurvivesCorruption();
    void codecSkipsEventsOfUnknownKinds();
    void codecReadsABrokerFromBeforeTheFormatKey();
    void codecNamesAnIncompatibleFormat_data();
    void codecNamesAnIncompatibleFormat();
    void monitorOfAnotherFormatIsRefused();
    void clientReportsAnIncompatibleBroker();
    void requestIdOfPastTheEnd();
};

void TestAdmin::snapshotMatchesTheBroker()
{
    TestBroker broker(adminConfig(), TestBroker::Admin::Endpoint);
    QVERIFY(!broker.admin().empty());
    RawWorker alpha(broker.context(), broker.backend(), "alpha",
                    [](const RawWorker::Request& request, RawWorker::Session& session) {
                        if (request.method == "fail") {
                            session.error(request, "ValueError", "no");
                        } else {
                            session.final(request, pack(1));
                        }
                    });
    RawWorker beta(broker.context(), broker.backend(), "beta",
                   [](const RawWorker::Request& request, RawWorker::Session& session) {
                       session.final(request, pack(2));
                   });
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(2), 5000);
    RawPeer client(broker.context(), broker.frontend());
    const std::vector<std::pair<std::string, std::string>> calls = {
        {"alpha", "upper"}, {"alpha", "fail"}, {"beta", "lower"}, {"alpha", "upper"}};
    for (const auto& [service, method] : calls) {
        client.send(mdp02::request(service, {"id", method, packArgs()}));
        QVERIFY(client.receive());
    }

    AdminClient admin(QString::fromStdString(broker.admin()), broker.context(), quickOptions());
    QSignalSpy received(&admin, &AdminClient::snapshotReceived);
    QSignalSpy connected(&admin, &AdminClient::connectedChanged);
    QVERIFY(!admin.isConnected());
    admin.start();
    QTRY_VERIFY_WITH_TIMEOUT(received.count() >= 1, 5000);
    QVERIFY(admin.isConnected());
    QCOMPARE(connected.count(), 1);
    QCOMPARE(connected.first().at(0).toBool(), true);

    const auto remote = received.last().at(0).value<BrokerSnapshot>();
    const BrokerSnapshot local = broker.snapshot();
    compareContent(remote, local);
    QCOMPARE(remote.methods.size(), qsizetype(3));
    QVERIFY(remote.sequence < local.sequence);
    QCOMPARE(remote.adminEndpoints, QStringList{QString::fromStdString(broker.admin())});

    // It keeps polling, and each snapshot is newer than the last.
    const int seen = received.count();
    QTRY_VERIFY_WITH_TIMEOUT(received.count() >= seen + 2, 5000);
    QVERIFY(received.last().at(0).value<BrokerSnapshot>().sequence > remote.sequence);
}

void TestAdmin::evictOverAdmin()
{
    TestBroker broker(adminConfig(), TestBroker::Admin::Endpoint);
    ManualWorker victim(broker, "victim", "doomed");
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);

    AdminClient admin(QString::fromStdString(broker.admin()), broker.context(), quickOptions());
    QSignalSpy finished(&admin, &AdminClient::evictFinished);
    admin.evictWorker("victim"); // works before start() too: no polling needed for a command
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 5000);
    QCOMPARE(finished[0].at(0).toByteArray(), QByteArray("victim"));
    QVERIFY2(finished[0].at(1).toBool(), qPrintable(finished[0].at(2).toString()));
    QVERIFY(victim.disconnected());
    QCOMPARE(broker.counters().workers, std::size_t(0));
    QCOMPARE(broker.counters().workersEvicted, std::uint64_t(1));

    admin.evictWorker("nobody");
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 5000);
    QCOMPARE(finished[1].at(0).toByteArray(), QByteArray("nobody"));
    QCOMPARE(finished[1].at(1).toBool(), false);
    const QString message = finished[1].at(2).toString();
    QVERIFY2(message.contains(QLatin1String("NoSuchWorker")) &&
                 message.contains(QLatin1String("no worker with identity nobody")),
             qPrintable(message));
}

void TestAdmin::hostileRequestsGetTypedErrors_data()
{
    QTest::addColumn<Message>("request");
    QTest::addColumn<std::string>("echoedId");
    QTest::addColumn<std::string>("type");

    QTest::newRow("one frame of garbage")
        << Message{"hello"} << std::string() << std::string("MalformedRequest");
    QTest::newRow("wrong header") << Message{"SBADM9", "a", "snapshot", kEmptyMap}
                                  << std::string("a") << std::string("MalformedRequest");
    QTest::newRow("no command") << Message{kHeader, "b"} << std::string("b")
                                << std::string("MalformedRequest");
    QTest::newRow("empty request id") << Message{kHeader, "", "snapshot", kEmptyMap}
                                      << std::string() << std::string("MalformedRequest");
    QTest::newRow("truncated msgpack") << Message{kHeader, "c", "snapshot", "\x82\xa1"}
                                       << std::string("c") << std::string("MalformedRequest");
    QTest::newRow("args not a map") << Message{kHeader, "d", "snapshot", "\x90"} << std::string("d")
                                    << std::string("MalformedRequest");
    QTest::newRow("bytes after the args") << Message{kHeader, "e", "snapshot", "\x80\x80"}
                                          << std::string("e") << std::string("MalformedRequest");
    QTest::newRow("array header of 4 G elements")
        << Message{kHeader, "f", "snapshot", "\xdd\xff\xff\xff\xff"} << std::string("f")
        << std::string("MalformedRequest");
    QTest::newRow("unknown command") << Message{kHeader, "g", "reboot", kEmptyMap}
                                     << std::string("g") << std::string("UnknownCommand");
    QTest::newRow("command with control bytes")
        << Message{kHeader, "h", std::string("snap\x01shot"), kEmptyMap} << std::string("h")
        << std::string("MalformedRequest");
    QTest::newRow("evict without identity") << Message{kHeader, "i", "evict", kEmptyMap}
                                            << std::string("i") << std::string("MalformedRequest");
    QTest::newRow("evict with a number")
        << Message{kHeader, "j", "evict", pack(std::map<std::string, int>{{"identity", 7}})}
        << std::string("j") << std::string("MalformedRequest");
    QTest::newRow("evict of nobody")
        << Message{kHeader, "k", "evict",
                   pack(std::map<std::string, std::string>{{"identity", "ghost"}})}
        << std::string("k") << std::string("NoSuchWorker");
    QTest::newRow("snapshot format not a number")
        << Message{kHeader, "m", "snapshot",
                   pack(std::map<std::string, std::string>{{"format", "1"}})}
        << std::string("m") << std::string("MalformedRequest");
    QTest::newRow("32 KiB request") << Message{kHeader, "l", "snapshot", std::string(32768, 'x')}
                                    << std::string("l") << std::string("MalformedRequest");
}

void TestAdmin::hostileRequestsGetTypedErrors()
{
    QFETCH(Message, request);
    QFETCH(std::string, echoedId);
    QFETCH(std::string, type);
    TestBroker broker(adminConfig(), TestBroker::Admin::Endpoint);
    RawPeer peer(broker.context(), broker.admin());
    peer.send(request);
    const auto reply = peer.receive();
    QVERIFY2(reply, "no answer");
    QCOMPARE(reply->size(), std::size_t(4));
    QCOMPARE((*reply)[0], kHeader);
    QCOMPARE((*reply)[1], echoedId);
    QCOMPARE((*reply)[2], std::string("\x01"));
    const auto [errorType, message] = failureOf((*reply)[3]);
    QCOMPARE(errorType, type);
    QVERIFY(!message.empty());
    // Refusals are counted as hostile input; asking for a worker that is gone is not one.
    QCOMPARE(broker.counters().adminMalformed, std::uint64_t(type == "NoSuchWorker" ? 0 : 1));

    // The same socket is still served.
    peer.send({kHeader, "after", "snapshot", kEmptyMap});
    const auto snapshot = peer.receive();
    QVERIFY(snapshot);
    QCOMPARE((*snapshot)[1], std::string("after"));
    QCOMPARE((*snapshot)[2], std::string("\x00", 1));
    QCOMPARE(snapshotcodec::decode((*snapshot)[3]).adminEndpoints,
             QStringList{QString::fromStdString(broker.admin())});
    QCOMPARE(broker.counters().adminRequests, std::uint64_t(2));
}

void TestAdmin::hugeFrameIsDroppedAndBrokerServes()
{
    TestBroker broker(adminConfig(), TestBroker::Admin::Endpoint);
    {
        RawPeer attacker(broker.context(), broker.admin());
        attacker.send({kHeader, "big", "snapshot", std::string(4 << 20, 'x')});
        // Over ZMQ_MAXMSGSIZE: libzmq closes the connection before the message is complete.
        QVERIFY(!attacker.receive(500ms));
    }
    RawPeer peer(broker.context(), broker.admin());
    peer.send({kHeader, "small", "snapshot", kEmptyMap});
    const auto reply = peer.receive();
    QVERIFY(reply);
    QCOMPARE((*reply)[1], std::string("small"));
    QCOMPARE((*reply)[2], std::string("\x00", 1));
    QCOMPARE(broker.counters().adminRequests, std::uint64_t(1)); // the big one never arrived
}

void TestAdmin::reqSocketWorks()
{
    // What a quick script would use: REQ adds an empty delimiter, which the reply keeps.
    TestBroker broker(adminConfig(), TestBroker::Admin::Endpoint);
    zmq::socket_t req(broker.context(), zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::rcvtimeo, 5000);
    req.connect(broker.admin());
    const Message request{kHeader, "1", "snapshot", kEmptyMap};
    for (std::size_t i = 0; i < request.size(); ++i) {
        req.send(zmq::buffer(request[i]),
                 i + 1 < request.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    std::vector<zmq::message_t> reply;
    QVERIFY(zmq::recv_multipart(req, std::back_inserter(reply)));
    QCOMPARE(reply.size(), std::size_t(4));
    QCOMPARE(reply[0].to_string(), kHeader);
    QCOMPARE(reply[1].to_string(), std::string("1"));
    QCOMPARE(reply[2].to_string(), std::string("\x00", 1));
    QCOMPARE(snapshotcodec::decode(reply[3]).frontendEndpoints,
             QStringList{QString::fromStdString(broker.frontend())});
}

void TestAdmin::reconnectsAfterBrokerRestart()
{
    TestBroker broker(adminConfig(), TestBroker::Admin::Endpoint);
    AdminClient admin(QString::fromStdString(broker.admin()), broker.context(), quickOptions());
    QSignalSpy received(&admin, &AdminClient::snapshotReceived);
    QSignalSpy connected(&admin, &AdminClient::connectedChanged);
    admin.start();
    QTRY_VERIFY_WITH_TIMEOUT(admin.isConnected(), 5000);

    broker.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!admin.isConnected(), 5000);
    QCOMPARE(connected.last().at(0).toBool(), false);
    const int before = received.count();

    broker.restart();
    QTRY_VERIFY_WITH_TIMEOUT(admin.isConnected(), 5000);
    QCOMPARE(connected.last().at(0).toBool(), true);
    QTRY_VERIFY_WITH_TIMEOUT(received.count() > before, 5000);
    // The new broker's numbering starts again: this is its snapshot, not a late one.
    QCOMPARE(received.last().at(0).value<BrokerSnapshot>().totals.requests, std::uint64_t(0));
    QVERIFY(received.last().at(0).value<BrokerSnapshot>().uptimeMs < 5000);
}

void TestAdmin::unreachableBrokerIsReported()
{
    // A port that was just free: nothing answers there.
    zmq::context_t context;
    std::string endpoint;
    {
        zmq::socket_t probe(context, zmq::socket_type::router);
        probe.bind("tcp://127.0.0.1:*");
        endpoint = probe.get(zmq::sockopt::last_endpoint);
    }
    AdminClient::Options options = quickOptions();
    options.timeout = 200ms;
    AdminClient admin(QString::fromStdString(endpoint), context, options);
    QSignalSpy connected(&admin, &AdminClient::connectedChanged);
    QSignalSpy finished(&admin, &AdminClient::evictFinished);
    admin.start();
    admin.evictWorker("anyone");
    QTRY_COMPARE_WITH_TIMEOUT(connected.count(), 1, 5000);
    QCOMPARE(connected[0].at(0).toBool(), false);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 5000);
    QCOMPARE(finished[0].at(1).toBool(), false);
    QVERIFY2(finished[0].at(2).toString().contains(QLatin1String("no answer")),
             qPrintable(finished[0].at(2).toString()));
    QVERIFY_THROWS_EXCEPTION(Error,
                             AdminClient(QStringLiteral("tcp://"), context, options).start());
}

void TestAdmin::adminEndpointInUseIsABindError()
{
    zmq::context_t context;
    zmq::socket_t squatter(context, zmq::socket_type::router);
    squatter.set(zmq::sockopt::linger, 0);
    squatter.bind("tcp://127.0.0.1:*");
    const QString taken = QString::fromStdString(squatter.get(zmq::sockopt::last_endpoint));
    BrokerConfig config = adminConfig();
    config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.adminEndpoints = {taken};
    BrokerThread broker(config, context);
    try {
        broker.start();
        QFAIL("the broker started on an admin endpoint already in use");
    } catch (const BindError& error) {
        QCOMPARE(error.endpoint(), taken);
        QVERIFY2(error.reason().contains(QLatin1String("in use")), qPrintable(error.reason()));
    }
}

void TestAdmin::codecRoundTrip()
{
    const BrokerSnapshot snapshot = fullSnapshot();
    const BrokerSnapshot decoded = snapshotcodec::decode(snapshotcodec::encode(snapshot));
    QCOMPARE(decoded.totals, snapshot.totals);
    QCOMPARE(decoded.services, snapshot.services);
    QCOMPARE(decoded.methods, snapshot.methods);
    QCOMPARE(decoded.workers, snapshot.workers);
    QCOMPARE(decoded.events, snapshot.events);
    QVERIFY(decoded == snapshot);
}

void TestAdmin::codecRoundTripOfARealSnapshot()
{
    TestBroker broker(adminConfig());
    ManualWorker worker(broker, "real", "svc");
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    const BrokerSnapshot snapshot = broker.snapshot();
    QVERIFY(!snapshot.workers.isEmpty() && !snapshot.events.isEmpty());
    QVERIFY(snapshotcodec::decode(snapshotcodec::encode(snapshot)) == snapshot);
}

void TestAdmin::codecRejectsMalformedInput_data()
{
    QTest::addColumn<std::string>("bytes");
    const std::string good = snapshotcodec::encode(fullSnapshot());
    QTest::newRow("empty") << std::string();
    QTest::newRow("first byte only") << good.substr(0, 1);
    QTest::newRow("cut in the middle") << good.substr(0, good.size() / 2);
    QTest::newRow("last byte missing") << good.substr(0, good.size() - 1);
    QTest::newRow("a byte too many") << good + std::string(1, '\xc0');
    QTest::newRow("not a map") << pack(std::vector<int>{1, 2, 3});
    QTest::newRow("array header of 4 G elements") << std::string("\xdd\xff\xff\xff\xff");
    QTest::newRow("no services") << withoutKey(good, "services");
    QTest::newRow("no totals") << withoutKey(good, "totals");
    QTest::newRow("sequence is a string") << withValue(good, "sequence", std::string("1"));
    QTest::newRow("sequence is negative") << withValue(good, "sequence", -1);
    QTest::newRow("liveness too big") << withValue(good, "liveness", std::int64_t(1) << 40);
    QTest::newRow("workers is a map")
        << withValue(good, "workers", std::map<std::string, int>{{"a", 1}});
    QTest::newRow("a worker is a number") << withValue(good, "workers", std::vector<int>{1});
    QTest::newRow("endpoint is a number")
        << withValue(good, "frontendEndpoints", std::vector<int>{5555});

    // Deeper: an unknown worker state, a latency summary of the wrong length.
    BrokerSnapshot snapshot = fullSnapshot();
    const std::string encoded = snapshotcodec::encode(snapshot);
    std::string unknownState = encoded;
    const std::string late = std::string("\xa4") + "late";
    unknownState.replace(unknownState.find(late), late.size(), std::string("\xa4") + "lazy");
    QTest::newRow("unknown worker state") << unknownState;
    QTest::newRow("format is a string") << withValue(good, "format", std::string("1"));
    std::string shortSummary = encoded;
    // [count, p50, p95, p99, max] of the window's total: 0x95 0x0a 0x01 0x02 0x03 0x04.
    const std::string summary("\x95\x0a\x01\x02\x03\x04", 6);
    shortSummary.replace(shortSummary.find(summary), summary.size(), "\x94\x0a\x01\x02\x03");
    QTest::newRow("summary of four") << shortSummary;
}

void TestAdmin::codecRejectsMalformedInput()
{
    QFETCH(std::string, bytes);
    QVERIFY_THROWS_EXCEPTION(ProtocolError, snapshotcodec::decode(bytes));
}

void TestAdmin::codecSurvivesCorruption()
{
    // Whatever a broken or hostile broker sends, decoding either works or throws ProtocolError.
    const std::string good = snapshotcodec::encode(fullSnapshot());
    std::mt19937 random(4711);
    int rejected = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string bytes = good;
        for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
            bytes[random() % bytes.size()] = static_cast<char>(random());
        }
        try {
            (void)snapshotcodec::decode(bytes);
        } catch (const ProtocolError&) {
            ++rejected;
        }
    }
    QVERIFY(rejected > 0);
}

// Kinds may be added within a format (docs/PROTOCOL.md §14): an event of a kind this reader does
// not know is left out, and the rest of the snapshot is read. This used to reject the whole
// snapshot, so a monitor went blank on a broker with one new kind of event.
void TestAdmin::codecSkipsEventsOfUnknownKinds()
{
    const BrokerSnapshot snapshot = fullSnapshot();
    std::string encoded = snapshotcodec::encode(snapshot);
    const std::string evicted = "WorkerEvicted";
    encoded.replace(encoded.find(evicted), evicted.size(), "WorkerEvictee");
    const BrokerSnapshot decoded = snapshotcodec::decode(encoded);
    QCOMPARE(decoded.events.size(), snapshot.events.size() - 1);
    for (const BrokerEvent& event : decoded.events) {
        QVERIFY(event.kind != BrokerEvent::Kind::WorkerEvicted);
    }
    QCOMPARE(decoded.workers, snapshot.workers);
    QCOMPARE(decoded.totals, snapshot.totals);
}

// Brokers before the "format" key wrote format 1 without it, and without the newer totals.
void TestAdmin::codecReadsABrokerFromBeforeTheFormatKey()
{
    const BrokerSnapshot snapshot = fullSnapshot();
    QVERIFY(snapshot.totals.requeued != 0);
    QVERIFY(snapshot.totals.declined != 0);
    const std::string encoded = withoutKey(snapshotcodec::encode(snapshot), "format");
    QVERIFY(snapshotcodec::decode(encoded) == snapshot);

    const auto handle = msgpack::unpack(encoded.data(), encoded.size());
    auto totals = handle.get().via.map.ptr[0].val; // any key's value, replaced below
    for (std::uint32_t i = 0; i < handle.get().via.map.size; ++i) {
        if (handle.get().via.map.ptr[i].key.as<std::string>() == "totals") {
            totals = handle.get().via.map.ptr[i].val;
        }
    }
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack(totals);
    const std::string olderTotals =
        withoutKey(withoutKey(std::string(buffer.data(), buffer.size()), "requeued"), "declined");
    const BrokerSnapshot older = snapshotcodec::decode(withValue(
        encoded, "totals", msgpack::unpack(olderTotals.data(), olderTotals.size()).get()));
    QCOMPARE(older.totals.requeued, std::uint64_t(0));
    QCOMPARE(older.totals.declined, std::uint64_t(0));
    QCOMPARE(older.totals.requests, snapshot.totals.requests);
}

void TestAdmin::codecNamesAnIncompatibleFormat_data()
{
    QTest::addColumn<std::uint64_t>("format");
    QTest::newRow("a newer broker") << std::uint64_t(2);
    QTest::newRow("format 0") << std::uint64_t(0);
}

// Another format's keys are not looked at: the reader says which formats differ, in words an
// operator understands, instead of the first key that happens not to fit.
void TestAdmin::codecNamesAnIncompatibleFormat()
{
    QFETCH(std::uint64_t, format);
    const std::string newer =
        withoutKey(withValue(snapshotcodec::encode(fullSnapshot()), "format", format), "services");
    try {
        (void)snapshotcodec::decode(newer);
        QFAIL("decoded a snapshot of another format");
    } catch (const snapshotcodec::IncompatibleFormat& error) {
        QCOMPARE(error.brokerFormat(), format);
        QCOMPARE(error.readerFormat(), snapshotcodec::kFormat);
        const std::string what = error.what();
        QVERIFY2(what.find("incompatible broker version") != std::string::npos, what.c_str());
        QVERIFY2(what.find("format " + std::to_string(format)) != std::string::npos, what.c_str());
    }
}

// A monitor of another release asks for its format; the broker refuses with a message the
// monitor can show. A monitor from before the format key sends {} and reads format 1.
void TestAdmin::monitorOfAnotherFormatIsRefused()
{
    TestBroker broker(adminConfig(), TestBroker::Admin::Endpoint);
    RawPeer peer(broker.context(), broker.admin());
    peer.send({kHeader, "new", "snapshot",
               pack(std::map<std::string, std::uint64_t>{{"format", snapshotcodec::kFormat + 1}})});
    const auto refused = peer.receive();
    QVERIFY2(refused, "no answer");
    QCOMPARE((*refused)[2], std::string("\x01"));
    const auto [type, message] = failureOf((*refused)[3]);
    QCOMPARE(type, std::string("IncompatibleVersion"));
    QVERIFY2(message.find("incompatible broker version") != std::string::npos, message.c_str());
    QCOMPARE(broker.counters().adminMalformed, std::uint64_t(0));

    for (const std::string& args :
         {kEmptyMap, pack(std::map<std::string, std::uint64_t>{{"format", 1}})}) {
        peer.send({kHeader, "old", "snapshot", args});
        const auto served = peer.receive();
        QVERIFY2(served, "no answer");
        QCOMPARE((*served)[2], std::string("\x00", 1));
        QCOMPARE(snapshotcodec::decode((*served)[3]).adminEndpoints,
                 QStringList{QString::fromStdString(broker.admin())});
    }
}

// AdminClient against a scripted broker of another release: first one that answers with a
// snapshot of format 2, then one that refuses this client's format. Both reach the operator as
// brokerIncompatible, not as an unreadable snapshot in the log.
void TestAdmin::clientReportsAnIncompatibleBroker()
{
    zmq::context_t context;
    zmq::socket_t router(context, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.bind("tcp://127.0.0.1:*");
    AdminClient client(QString::fromStdString(router.get(zmq::sockopt::last_endpoint)), context,
                       quickOptions());
    QSignalSpy incompatible(&client, &AdminClient::brokerIncompatible);
    QSignalSpy snapshots(&client, &AdminClient::snapshotReceived);
    client.start();

    const auto answerNext = [&](std::string_view status, std::string payload) {
        std::vector<zmq::message_t> request;
        // QTRY_VERIFY evaluates its condition once more after it held: keep what was read.
        const auto received = [&] {
            return !request.empty() || zmq::recv_multipart(router, std::back_inserter(request),
                                                           zmq::recv_flags::dontwait);
        };
        QTRY_VERIFY_WITH_TIMEOUT(received(), 5000);
        QCOMPARE(request.size(), std::size_t(5)); // identity, header, id, command, args
        QCOMPARE(request[3].to_string(), std::string("snapshot"));
        const auto args = msgpack::unpack(request[4].data<char>(), request[4].size());
        using Args = std::map<std::string, std::uint64_t>;
        QCOMPARE(args.get().as<Args>().at("format"), snapshotcodec::kFormat);
        std::array<zmq::const_buffer, 5> reply{zmq::buffer(request[0].data(), request[0].size()),
                                               zmq::buffer(kHeader),
                                               zmq::buffer(request[2].data(), request[2].size()),
                                               zmq::buffer(status), zmq::buffer(payload)};
        QVERIFY(zmq::send_multipart(router, reply));
    };

    answerNext(std::string_view("\x00", 1),
               withValue(snapshotcodec::encode(fullSnapshot()), "format", 2));
    QTRY_COMPARE_WITH_TIMEOUT(incompatible.count(), 1, 5000);
    QVERIFY(
        incompatible[0][0].toString().startsWith(QStringLiteral("incompatible broker version")));

    const std::string refusal = "incompatible broker version: the broker's snapshots are in format "
                                "3, this monitor reads format 1";
    answerNext("\x01", pack(std::map<std::string, std::string>{{"type", "IncompatibleVersion"},
                                                               {"message", refusal}}));
    QTRY_COMPARE_WITH_TIMEOUT(incompatible.count(), 2, 5000);
    QCOMPARE(incompatible[1][0].toString(), QString::fromStdString(refusal));
    QCOMPARE(snapshots.count(), 0);
}

QTEST_GUILESS_MAIN(TestAdmin)
// Found by fuzz/fuzz_admin: requestIdOf(frames, SIZE_MAX) used to name frame 0, because
// first + 1 wrapped around to 0 before it was compared with the frame count.
void TestAdmin::requestIdOfPastTheEnd()
{
    const Frames frames = admin::makeRequest("id-1", "snapshot", zmq::message_t("\x80", 1));
    QCOMPARE(admin::requestIdOf(frames, 0), std::string_view("id-1"));
    QCOMPARE(admin::requestIdOf(frames, 3), std::string_view());
    QCOMPARE(admin::requestIdOf(frames, frames.size()), std::string_view());
    QCOMPARE(admin::requestIdOf(frames, SIZE_MAX), std::string_view());
    QCOMPARE(admin::requestIdOf(Frames{}, SIZE_MAX), std::string_view());
}

#include "tst_admin.moc"
