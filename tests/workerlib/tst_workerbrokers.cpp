// switchboard::Worker on several brokers at once: one session per broker, the capacity shared
// between them, DECLINE for what the worker has no room for (docs/PROTOCOL.md 11.2), brokers
// that die and come back, and a host name that resolves to one broker per address. Scripted
// brokers on plain ROUTERs check the wire; real brokers (BrokerThread) check the whole.

#include "rawpeer.h"
#include "testbroker.h"
#include "workerpeers.h"

#include <switchboard/worker.h>

#include <QProcess>
#include <QTemporaryFile>
#include <QTest>

#include <atomic>
#include <future>
#include <memory>
#include <set>
#include <thread>
#include <vector>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

// FINAL (0x04), DECLINE (0x07) and HEARTBEAT (0x05) as an 18/MDP worker sends them.
constexpr char kFinal = '\x04';
constexpr char kDecline = '\x07';
constexpr char kHeartbeat = '\x05';

// A broker's address for a credited worker: the client's identity and a 4-byte tag, with bytes
// a text copy would lose.
std::string taggedAddress(const std::string& client, char tag)
{
    return client + std::string("\0\0\x01", 3) + tag;
}

// Long enough that no periodic HEARTBEAT comes during a test: one that does is owed.
WorkerOptions quietOptions()
{
    WorkerOptions options;
    options.heartbeatInterval = 60s;
    options.reconnectMin = 20ms;
    return options;
}

std::optional<Message> nextMessage(FakeBroker& broker, std::chrono::milliseconds timeout = 5000ms)
{
    return broker.receive(timeout);
}

// Counts handler entries with an atomic and keeps the most that were inside at once.
class EntryCount {
public:
    void enter()
    {
        const int inside = ++m_inside;
        int most = m_most.load();
        while (inside > most && !m_most.compare_exchange_weak(most, inside)) {
        }
    }
    void leave() { --m_inside; }
    int most() const { return m_most.load(); }

private:
    std::atomic<int> m_inside{0};
    std::atomic<int> m_most{0};
};

BrokerConfig brokerConfig(const QString& backend = QStringLiteral("tcp://127.0.0.1:*"))
{
    BrokerConfig config;
    config.requestTimeout = 10000ms;
    config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.backendEndpoints = {backend};
    config.adminEndpoints.clear();
    return config;
}

// The calculator example as a child process that sees `hosts` as its /etc/hosts (a mount
// namespace of its own: root, or user namespaces, needed), so that a name can stand for two
// loopback addresses. Empty when it runs and said it is ready; else why it could not.
QString startWithHosts(QProcess& worker, const QTemporaryFile& hosts, const QStringList& arguments)
{
    worker.setProcessChannelMode(QProcess::MergedChannels);
    QString quoted;
    for (const QString& argument : arguments) {
        quoted += QStringLiteral(" '") + argument + QLatin1Char('\'');
    }
    const QString script = QStringLiteral("mount --bind '%1' /etc/hosts && exec '%2'%3")
                               .arg(hosts.fileName(), QStringLiteral(CALCULATOR_WORKER), quoted);
    worker.start(QStringLiteral("unshare"),
                 {QStringLiteral("-m"), QStringLiteral("sh"), QStringLiteral("-c"), script});
    if (!worker.waitForStarted(5000)) {
        return QStringLiteral("unshare could not be started: a mount namespace is needed to give "
                              "the worker an /etc/hosts of its own");
    }
    // Either the worker says it is ready, or unshare or mount fail and the shell ends.
    QByteArray output;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!output.contains("ready") && worker.state() != QProcess::NotRunning &&
           std::chrono::steady_clock::now() < deadline) {
        worker.waitForReadyRead(100);
        output += worker.readAll();
    }
    if (output.contains("ready")) {
        return {};
    }
    return QStringLiteral("unshare -m with mount --bind failed here (root or user namespaces "
                          "needed), so no name can be given two addresses: ") +
           QString::fromUtf8(output + worker.readAll()).trimmed();
}

void rewrite(QTemporaryFile& hosts, const QByteArray& content)
{
    // In place: the worker's bind mount refers to this inode.
    hosts.resize(0);
    hosts.seek(0);
    hosts.write(content);
    hosts.flush();
}

#define QVERIFY_OK(reply)                                                                          \
    do {                                                                                           \
        QVERIFY2((reply).has_value(), "no reply");                                                 \
        if (!(reply)->ok()) {                                                                      \
            const ErrorReply error_ = (reply)->error();                                            \
            QFAIL(("error reply: " + error_.type + ": " + error_.message).c_str());                \
        }                                                                                          \
    } while (false)

} // namespace

class TestWorkerBrokers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void oneAddressInAListIsTheOneBrokerWorker();
    void everySessionAnnouncesItsCapacity();
    void declinesBeyondCapacityAndHeartbeatsOnceThereIsRoom();
    void handlersAcrossBrokersNeverExceedThreads();
    void stopDeclinesWhatComesAfter();
    void brokerWithoutCreditIsNeverDeclinedTo();
    void sessionLostWhileItsRequestRunsFreesTheCapacity();
    void contextShutdownEndsRun();
    void loadOnTwoBrokersStaysWithinCapacity();
    void brokerStoppedTheOtherServesAndItComesBack();
    void nameWithTwoAddressesGivesTwoSessions();
    void nameResolvedAgainAddsAndRetiresSessions();
};

void TestWorkerBrokers::oneAddressInAListIsTheOneBrokerWorker()
{
    // One address can never be more than one broker: plain MDP READY for a capacity of 1, as
    // with the single-endpoint constructor.
    FakeBroker fake;
    Worker worker(std::vector<std::string>{fake.endpoint()}, "svc", quietOptions());
    worker.handle("echo", [](int n) { return n; });
    worker.start();
    const auto ready = fake.nextReadyMessage();
    QVERIFY(ready);
    QCOMPARE(withoutIdentity(*ready), (Message{"MDPW02", "\x01", "svc"}));
}

void TestWorkerBrokers::everySessionAnnouncesItsCapacity()
{
    FakeBroker first;
    FakeBroker second;
    WorkerOptions options = quietOptions();
    Worker worker(std::vector<std::string>{first.endpoint(), second.endpoint()}, "svc", options);
    worker.handle("echo", [](int n) { return n; });
    worker.start();
    // Credit 1 too: only a broker that took the credit frame may be sent DECLINE.
    for (FakeBroker* fake : {&first, &second}) {
        const auto ready = fake->nextReadyMessage();
        QVERIFY(ready);
        QCOMPARE(withoutIdentity(*ready), (Message{"MDPW02", "\x01", "svc", "credit=1"}));
    }
}

void TestWorkerBrokers::declinesBeyondCapacityAndHeartbeatsOnceThereIsRoom()
{
    FakeBroker first;
    FakeBroker second;
    Worker worker(std::vector<std::string>{first.endpoint(), second.endpoint()}, "svc",
                  quietOptions());
    Gate gate;
    worker.handle("block", [&](int n) { return gate.pass() ? n : -1; });
    worker.start();
    const auto firstId = first.nextReady();
    const auto secondId = second.nextReady();
    QVERIFY(firstId && secondId);

    first.send(*firstId, workerRequest(taggedAddress("c1", 'a'), "rid-1", "block", packArgs(1)));
    QVERIFY(gate.waitEntered(1));
    // The worker holds its one request: the second broker, which counts it free, gets its
    // request back at once, address byte for byte, and hears nothing more while it is full.
    const std::string declined = taggedAddress("c2", 'b');
    second.send(*secondId, workerRequest(declined, "rid-2", "block", packArgs(2)));
    const auto decline = nextMessage(second);
    QVERIFY(decline);
    QCOMPARE(*decline, (Message{*secondId, "MDPW02", std::string(1, kDecline), declined}));
    QVERIFY(!second.receive(200ms));

    gate.open();
    const auto answer = first.nextNotHeartbeat();
    QVERIFY(answer);
    QCOMPARE((*answer)[2], std::string(1, kFinal));
    QCOMPARE(unpack<int>((*answer)[7]), 1);
    // Room again: the HEARTBEAT that lets the second broker send again (a periodic one is a
    // minute away).
    const auto heartbeat = nextMessage(second);
    QVERIFY(heartbeat);
    QCOMPARE(*heartbeat, (Message{*secondId, "MDPW02", std::string(1, kHeartbeat)}));
    // The first broker declined nothing: it is owed nothing.
    QVERIFY(!first.receive(200ms));

    second.send(*secondId, workerRequest(declined, "rid-3", "block", packArgs(3)));
    const auto served = second.nextNotHeartbeat();
    QVERIFY(served);
    QCOMPARE((*served)[2], std::string(1, kFinal));
    QCOMPARE((*served)[3], declined);
    QCOMPARE(unpack<int>((*served)[7]), 3);
}

void TestWorkerBrokers::handlersAcrossBrokersNeverExceedThreads()
{
    FakeBroker first;
    FakeBroker second;
    WorkerOptions options = quietOptions();
    options.threads = 2;
    options.maxInFlight = 4;
    Worker worker(std::vector<std::string>{first.endpoint(), second.endpoint()}, "svc", options);
    Gate gate;
    EntryCount entries;
    worker.handle("block", [&](int n) {
        entries.enter();
        const bool opened = gate.pass();
        entries.leave();
        return opened ? n : -1;
    });
    worker.start();
    const auto firstReady = first.nextReadyMessage();
    const auto secondReady = second.nextReadyMessage();
    QVERIFY(firstReady && secondReady);
    QCOMPARE(firstReady->back(), std::string("credit=4"));
    const std::string firstId = firstReady->front();
    const std::string secondId = secondReady->front();

    for (int i = 0; i < 3; ++i) {
        first.send(firstId,
                   workerRequest(taggedAddress("a", char('0' + i)), "rid-a", "block", packArgs(i)));
    }
    QVERIFY(gate.waitEntered(2));
    // Two running, and the worker holds up to four: of the seven sent, three go back, whichever
    // broker's they are (the first broker's third may come in after the second's).
    for (int i = 0; i < 4; ++i) {
        second.send(secondId, workerRequest(taggedAddress("b", char('0' + i)), "rid-b", "block",
                                            packArgs(10 + i)));
    }
    int declines = 0;
    std::set<int> answered;
    const auto collect = [&](std::chrono::milliseconds wait) {
        for (FakeBroker* fake : {&first, &second}) {
            const auto message = fake->receive(wait);
            if (message && FakeBroker::isCommand(*message, kDecline)) {
                ++declines;
            } else if (message && FakeBroker::isCommand(*message, kFinal)) {
                answered.insert(unpack<int>((*message)[7]));
            }
        }
    };
    QTRY_VERIFY_WITH_TIMEOUT((collect(10ms), declines == 3), 5000);
    QVERIFY(!gate.waitEntered(3, 200ms)); // two threads, whichever broker sent the request
    QVERIFY(answered.empty());

    gate.open();
    QTRY_VERIFY_WITH_TIMEOUT((collect(10ms), answered.size() == 4), 10000);
    QCOMPARE(declines, 3);
    QCOMPARE(entries.most(), 2);
}

void TestWorkerBrokers::stopDeclinesWhatComesAfter()
{
    // On several brokers a request that comes after stop() goes back to its broker at once,
    // for another worker, rather than wait for the DISCONNECT to be answered WorkerLost.
    FakeBroker first;
    FakeBroker second;
    WorkerOptions options = quietOptions();
    options.maxInFlight = 8; // room to spare: a DECLINE below is the stop's, not a full worker's
    Worker worker(std::vector<std::string>{first.endpoint(), second.endpoint()}, "svc", options);
    Gate gate;
    worker.handle("block", [&](int n) { return gate.pass() ? n : -1; });
    worker.start();
    const auto firstId = first.nextReady();
    const auto secondId = second.nextReady();
    QVERIFY(firstId && secondId);
    first.send(*firstId, workerRequest("a", "rid-a", "block", packArgs(0)));
    QVERIFY(gate.waitEntered(1));

    worker.stop();
    // The second session says goodbye at once: it holds nothing.
    const auto goodbye = second.nextNotHeartbeat();
    QVERIFY(goodbye);
    QCOMPARE(withoutIdentity(*goodbye), (Message{"MDPW02", "\x06"}));
    // The first one still holds a running request. A request it takes in before it notices the
    // stop is still served (this used to make the test flaky); once it has, what comes is
    // declined.
    int sent = 0;
    std::vector<Message> messages; // from the first broker, in order
    const auto declinedOne = [&] {
        const std::string address = "b" + std::to_string(++sent);
        first.send(*firstId, workerRequest(address, "rid-" + address, "block", packArgs(sent)));
        if (auto message = first.receive(50ms)) {
            messages.push_back(std::move(*message));
        }
        return !messages.empty();
    };
    QTRY_VERIFY_WITH_TIMEOUT(declinedOne(), 5000);
    QVERIFY(sent < 8);

    gate.open();
    for (;;) {
        auto message = first.nextNotHeartbeat();
        QVERIFY2(message, "no DISCONNECT");
        if (FakeBroker::isCommand(*message, '\x06')) {
            break;
        }
        messages.push_back(std::move(*message));
    }
    // "a" and each request taken in before the stop was seen are answered; each one after it,
    // and at least one came after, goes back. Each exactly once.
    std::set<int> answered;
    std::set<int> declined;
    for (const Message& message : messages) {
        if (FakeBroker::isCommand(message, kDecline)) {
            QCOMPARE(message.size(), std::size_t(4));
            declined.insert(std::stoi(message[3].substr(1)));
        } else {
            QVERIFY(FakeBroker::isCommand(message, kFinal));
            answered.insert(unpack<int>(message[7]));
        }
    }
    QVERIFY(!declined.empty());
    QVERIFY(answered.contains(0));
    QCOMPARE(answered.size() + declined.size(), std::size_t(sent + 1));
    QVERIFY(answered.size() == 1 || *answered.rbegin() < *declined.begin());
    worker.wait();
}

void TestWorkerBrokers::brokerWithoutCreditIsNeverDeclinedTo()
{
    // A strict MDP broker refuses the credited READY: it gets a plain one, and since it would
    // take DECLINE for a protocol violation, its request waits at the full worker instead.
    FakeBroker strict;
    FakeBroker other;
    WorkerOptions options = quietOptions();
    std::mutex logMutex;
    std::vector<std::string> logged;
    options.log = [&](std::string_view message) {
        std::lock_guard lock(logMutex);
        logged.emplace_back(message);
    };
    Worker worker(std::vector<std::string>{strict.endpoint(), other.endpoint()}, "svc", options);
    Gate gate;
    worker.handle("block", [&](int n) { return gate.pass() ? n : -1; });
    worker.start();
    const auto refused = strict.nextReady();
    QVERIFY(refused);
    strict.send(*refused, {"MDPW02", "\x06"});
    const auto plain = strict.nextReadyMessage();
    QVERIFY(plain);
    QCOMPARE(withoutIdentity(*plain), (Message{"MDPW02", "\x01", "svc"}));
    const std::string strictId = plain->front();
    {
        std::lock_guard lock(logMutex);
        QCOMPARE(logged.size(), std::size_t(1));
        QVERIFY2(logged.front().find("cannot be sent DECLINE") != std::string::npos,
                 logged.front().c_str());
    }
    const auto otherId = other.nextReady();
    QVERIFY(otherId);

    other.send(*otherId, workerRequest("a", "rid-1", "block", packArgs(1)));
    QVERIFY(gate.waitEntered(1));
    strict.send(strictId, workerRequest("b", "rid-2", "block", packArgs(2)));
    QVERIFY(!strict.nextNotHeartbeat(200ms)); // held, not declined: it waits for the thread
    QVERIFY(!gate.waitEntered(2, 0ms));
    gate.open();
    const auto first = other.nextNotHeartbeat();
    QVERIFY(first);
    QCOMPARE(unpack<int>((*first)[7]), 1);
    const auto second = strict.nextNotHeartbeat();
    QVERIFY(second);
    QCOMPARE((*second)[2], std::string(1, kFinal));
    QCOMPARE(unpack<int>((*second)[7]), 2);
}

void TestWorkerBrokers::sessionLostWhileItsRequestRunsFreesTheCapacity()
{
    // The first broker forgets the worker while its request runs: the answer has nowhere to go
    // and is dropped, but the request still counts until its handler returns, and then no more:
    // the other broker's next request is served, not declined.
    FakeBroker first;
    FakeBroker second;
    Worker worker(std::vector<std::string>{first.endpoint(), second.endpoint()}, "svc",
                  quietOptions());
    Gate gate;
    worker.handle("block", [&](int n) { return gate.pass() ? n : -1; });
    worker.handle("echo", [](int n) { return n; });
    worker.start();
    const auto firstId = first.nextReady();
    const auto secondId = second.nextReady();
    QVERIFY(firstId && secondId);

    first.send(*firstId, workerRequest("a", "rid-a", "block", packArgs(1)));
    QVERIFY(gate.waitEntered(1));
    first.send(*firstId, {"MDPW02", "\x06"}); // DISCONNECT: the session registers again
    const auto again = first.nextReadyMessage();
    QVERIFY(again);
    QCOMPARE(withoutIdentity(*again), (Message{"MDPW02", "\x01", "svc", "credit=1"}));

    // Still running: the worker is full, whichever session the request came on.
    second.send(*secondId, workerRequest("b", "rid-b", "echo", packArgs(2)));
    const auto decline = second.nextNotHeartbeat();
    QVERIFY(decline);
    QCOMPARE(withoutIdentity(*decline), (Message{"MDPW02", std::string(1, kDecline), "b"}));

    gate.open();
    const auto heartbeat = second.receive(); // room again
    QVERIFY(heartbeat);
    QVERIFY(FakeBroker::isCommand(*heartbeat, kHeartbeat));
    second.send(*secondId, workerRequest("b", "rid-b", "echo", packArgs(2)));
    const auto served = second.nextNotHeartbeat();
    QVERIFY(served);
    QCOMPARE((*served)[2], std::string(1, kFinal));
    QCOMPARE(unpack<int>((*served)[7]), 2);
    // The old registration's answer never reached the first broker.
    QVERIFY(!first.nextNotHeartbeat(200ms));
}

void TestWorkerBrokers::contextShutdownEndsRun()
{
    // This used to hang: the sessions ended with the context, but the thread that resolves the
    // brokers' names again waited for a stop() nobody called.
    FakeBroker first;
    FakeBroker second;
    zmq::context_t context;
    Worker worker(context, std::vector<std::string>{first.endpoint(), second.endpoint()}, "svc",
                  quietOptions());
    worker.handle("echo", [](int n) { return n; });
    auto ran = std::async(std::launch::async, [&worker] { worker.run(); });
    QVERIFY(first.nextReady());
    QVERIFY(second.nextReady());
    context.shutdown();
    QCOMPARE(ran.wait_for(5s), std::future_status::ready);
    ran.get();
}

void TestWorkerBrokers::loadOnTwoBrokersStaysWithinCapacity()
{
    TestBroker first(brokerConfig());
    TestBroker second(brokerConfig());
    WorkerOptions options;
    options.threads = 2; // capacity 2
    Worker worker(std::vector<std::string>{first.backend(), second.backend()}, "load", options);
    EntryCount entries;
    worker.handle("work", [&](int n) {
        entries.enter();
        std::this_thread::sleep_for(1ms); // the work a request costs, not a synchronisation
        entries.leave();
        return n;
    });
    worker.start();
    QTRY_COMPARE_WITH_TIMEOUT(first.counters().workers, std::size_t(1), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(second.counters().workers, std::size_t(1), 5000);

    constexpr int kPerClient = 50;
    std::vector<std::unique_ptr<Client>> clients;
    for (TestBroker* broker : {&first, &second, &first, &second}) {
        clients.push_back(std::make_unique<Client>(broker->context(), broker->frontend()));
    }
    for (auto& client : clients) {
        for (int i = 0; i < kPerClient; ++i) {
            client->send("load", "work", packArgs(i));
        }
    }
    for (auto& client : clients) {
        std::set<std::string> ids;
        for (int i = 0; i < kPerClient; ++i) {
            const auto reply = client->receive(15000ms);
            QVERIFY_OK(reply);
            ids.insert(reply->requestId);
        }
        QCOMPARE(ids.size(), std::size_t(kPerClient));
    }
    QVERIFY2(entries.most() <= 2, qPrintable(QString("%1 handlers at once").arg(entries.most())));
    // Both brokers kept the worker: declining is no protocol violation.
    QCOMPARE(first.counters().workersDisconnected, std::uint64_t(0));
    QCOMPARE(second.counters().workersDisconnected, std::uint64_t(0));
    QCOMPARE(first.counters().workerLost + second.counters().workerLost, std::uint64_t(0));
    // Each broker fills the worker's whole credit of 2 while the other's requests run: it was
    // declined to, and put those requests back for later.
    QVERIFY(first.counters().workerDeclines + second.counters().workerDeclines > 0);
}

void TestWorkerBrokers::brokerStoppedTheOtherServesAndItComesBack()
{
    zmq::context_t context;
    BrokerConfig config = brokerConfig();
    auto dying = std::make_unique<BrokerThread>(config, context);
    dying->start();
    config.frontendEndpoints = dying->frontendEndpoints();
    config.backendEndpoints = dying->backendEndpoints();
    TestBroker steady(brokerConfig());

    WorkerOptions options;
    options.reconnectMin = 20ms;
    options.reconnectMax = 100ms;
    Worker worker(
        std::vector<std::string>{config.backendEndpoints.first().toStdString(), steady.backend()},
        "phoenix", options);
    worker.handle("add_one", [](int n) { return n + 1; });
    worker.start();
    const std::string dyingFrontend = config.frontendEndpoints.first().toStdString();
    {
        Client client(context, dyingFrontend);
        QVERIFY_OK(client.call("phoenix", "add_one", packArgs(1)));
    }
    Client steadyClient(steady.context(), steady.frontend());
    QVERIFY_OK(steadyClient.call("phoenix", "add_one", packArgs(1)));

    dying->stop();
    dying.reset();
    // No pause: the other session never depended on this one.
    for (int i = 0; i < 20; ++i) {
        const auto reply = steadyClient.call("phoenix", "add_one", packArgs(i), 1000ms);
        QVERIFY_OK(reply);
        QCOMPARE(reply->as<int>(), i + 1);
    }

    // Back on the same endpoints (the bind is retried until libzmq let go of the old one).
    const auto restarted = [&] {
        if (dying) {
            return true;
        }
        try {
            dying = std::make_unique<BrokerThread>(config, context);
            dying->start();
            return true;
        } catch (const BindError&) {
            dying.reset();
            return false;
        }
    };
    QTRY_VERIFY_WITH_TIMEOUT(restarted(), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(dying->counters().workers, std::size_t(1), 5000);
    Client client(context, dyingFrontend);
    const auto reply = client.call("phoenix", "add_one", packArgs(41));
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<int>(), 42);
    QCOMPARE(steady.counters().workers, std::size_t(1)); // still the one session there
    worker.stop();
    worker.wait();
    dying->stop();
}

void TestWorkerBrokers::nameWithTwoAddressesGivesTwoSessions()
{
    // Two brokers on one port of two loopback addresses, and a name for both in an /etc/hosts
    // that only the worker's mount namespace sees.
    zmq::context_t context;
    BrokerConfig config = brokerConfig(QStringLiteral("tcp://127.0.0.2:*"));
    BrokerThread first(config, context);
    first.start();
    const QString firstBackend = first.backendEndpoints().first();
    const QString port = firstBackend.mid(firstBackend.lastIndexOf(':') + 1);
    BrokerThread second(brokerConfig(QStringLiteral("tcp://127.0.0.3:") + port), context);
    try {
        second.start();
    } catch (const BindError& error) {
        QSKIP(qPrintable(QStringLiteral("port %1 is taken on 127.0.0.3: %2")
                             .arg(port, QString::fromUtf8(error.what()))));
    }

    QTemporaryFile hosts;
    QVERIFY(hosts.open());
    hosts.write("127.0.0.1 localhost\n127.0.0.2 brokers.test\n127.0.0.3 brokers.test\n");
    hosts.flush();

    QProcess worker;
    if (const QString failed =
            startWithHosts(worker, hosts, {QStringLiteral("tcp://brokers.test:") + port});
        !failed.isEmpty()) {
        QSKIP(qPrintable(failed));
    }
    QTRY_COMPARE_WITH_TIMEOUT(first.counters().workers, std::size_t(1), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(second.counters().workers, std::size_t(1), 5000);
    for (BrokerThread* broker : {&first, &second}) {
        Client client(context, broker->frontendEndpoints().first().toStdString());
        const auto reply = client.call("calc", "add_one", packArgs(1));
        QVERIFY_OK(reply);
        QCOMPARE(reply->as<int>(), 2);
    }
    worker.terminate();
    QVERIFY(worker.waitForFinished(5000));
    QCOMPARE(worker.exitCode(), 0);
    // Stopped gracefully on both: each broker got its DISCONNECT.
    QTRY_COMPARE_WITH_TIMEOUT(first.counters().workers, std::size_t(0), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(second.counters().workers, std::size_t(0), 5000);
}

void TestWorkerBrokers::nameResolvedAgainAddsAndRetiresSessions()
{
    zmq::context_t context;
    BrokerThread first(brokerConfig(QStringLiteral("tcp://127.0.0.2:*")), context);
    first.start();
    const QString firstBackend = first.backendEndpoints().first();
    const QString port = firstBackend.mid(firstBackend.lastIndexOf(':') + 1);
    BrokerThread second(brokerConfig(QStringLiteral("tcp://127.0.0.3:") + port), context);
    try {
        second.start();
    } catch (const BindError& error) {
        QSKIP(qPrintable(QStringLiteral("port %1 is taken on 127.0.0.3: %2")
                             .arg(port, QString::fromUtf8(error.what()))));
    }
    QTemporaryFile hosts;
    QVERIFY(hosts.open());
    rewrite(hosts, "127.0.0.1 localhost\n127.0.0.2 brokers.test\n");

    QProcess worker;
    if (const QString failed =
            startWithHosts(worker, hosts,
                           {QStringLiteral("--resolve-interval"), QStringLiteral("100"),
                            QStringLiteral("tcp://brokers.test:") + port});
        !failed.isEmpty()) {
        QSKIP(qPrintable(failed));
    }
    QTRY_COMPARE_WITH_TIMEOUT(first.counters().workers, std::size_t(1), 5000);
    QCOMPARE(second.counters().workers, std::size_t(0));

    // A broker appears behind the name: a session of its own, the first one untouched.
    rewrite(hosts, "127.0.0.1 localhost\n127.0.0.2 brokers.test\n127.0.0.3 brokers.test\n");
    QTRY_COMPARE_WITH_TIMEOUT(second.counters().workers, std::size_t(1), 5000);
    QCOMPARE(first.counters().workers, std::size_t(1));
    QCOMPARE(first.counters().workersRegistered, std::uint64_t(1));

    // The first one leaves the name: its session says DISCONNECT, the other serves on.
    rewrite(hosts, "127.0.0.1 localhost\n127.0.0.3 brokers.test\n");
    QTRY_COMPARE_WITH_TIMEOUT(first.counters().workers, std::size_t(0), 5000);
    QCOMPARE(first.counters().workersPurged, std::uint64_t(0)); // a goodbye, not a silence
    Client client(context, second.frontendEndpoints().first().toStdString());
    const auto reply = client.call("calc", "add_one", packArgs(1));
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<int>(), 2);
    QCOMPARE(second.counters().workersRegistered, std::uint64_t(1));

    worker.terminate();
    QVERIFY(worker.waitForFinished(5000));
    QCOMPARE(worker.exitCode(), 0);
}

QTEST_GUILESS_MAIN(TestWorkerBrokers)
#include "tst_workerbrokers.moc"
