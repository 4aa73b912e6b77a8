// The broker's statistics as an operator reads them: Broker::snapshot() after real traffic from
// raw MDP peers, eviction, the event log, and the periodic snapshotReady signal.

#include "rawpeer.h"
#include "rawworker.h"
#include "testbroker.h"
#include <switchboard/monitoring/latencyhistogram.h>
#include <switchboard/statistics/brokerstatistics.h>
#include <switchboard/statistics/eventlog.h>

#include <switchboard/broker/broker.h>

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>

#include <numeric>
#include <set>
#include <thread>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

BrokerConfig fastConfig()
{
    BrokerConfig config;
    config.heartbeatInterval = 100ms;
    config.liveness = 5;
    config.requestTimeout = 2000ms;
    return config;
}

const WorkerStats* findWorker(const BrokerSnapshot& snapshot, const QString& name)
{
    for (const WorkerStats& worker : snapshot.workers) {
        if (worker.name == name) {
            return &worker;
        }
    }
    return nullptr;
}

const ServiceStats* findService(const BrokerSnapshot& snapshot, const QString& name)
{
    for (const ServiceStats& service : snapshot.services) {
        if (service.name == name) {
            return &service;
        }
    }
    return nullptr;
}

const MethodStats* findMethod(const BrokerSnapshot& snapshot, const QString& service,
                              const QString& method)
{
    for (const MethodStats& stats : snapshot.methods) {
        if (stats.service == service && stats.method == method) {
            return &stats;
        }
    }
    return nullptr;
}

int countEvents(const BrokerSnapshot& snapshot, BrokerEvent::Kind kind, const QString& worker = {})
{
    return static_cast<int>(std::count_if(
        snapshot.events.begin(), snapshot.events.end(), [&](const BrokerEvent& event) {
            return event.kind == kind && (worker.isEmpty() || event.worker == worker);
        }));
}

// A client on a DEALER, 18/MDP.
struct Client {
    Client(TestBroker& broker)
        : peer(broker.context(), broker.frontend())
    {}

    void call(const std::string& service, const std::string& id, const std::string& method)
    {
        peer.send(mdp02::request(service, {id, method, packArgs()}));
    }

    // The body of the next FINAL: [request id, status, payload].
    std::optional<Message> answer(std::chrono::milliseconds timeout = 5000ms)
    {
        auto message = peer.receive(timeout);
        if (!message || message->size() < 6) {
            return std::nullopt;
        }
        return Message(message->begin() + 3, message->end());
    }

    RawPeer peer;
};

// A worker that never answers by itself: the test drives it frame by frame.
struct ManualWorker {
    ManualWorker(TestBroker& broker, const std::string& identity, const std::string& service,
                 int mdpVersion = 2)
        : peer(broker.context(), broker.backend(), identity)
        , version(mdpVersion)
    {
        peer.send(version == 1 ? mdp01::ready(service) : mdp02::ready(service));
    }

    // The next REQUEST, skipping heartbeats: {client address, body}.
    std::optional<std::pair<std::string, Message>> nextRequest()
    {
        const std::size_t at = version == 1 ? 1 : 0;
        while (auto message = peer.receive(5000ms)) {
            if (message->size() >= at + 5 && (*message)[at + 1] == "\x02") {
                return std::pair{
                    (*message)[at + 2],
                    Message(message->begin() + static_cast<long>(at + 4), message->end())};
            }
        }
        return std::nullopt;
    }

    void reply(const std::string& client, const Message& body)
    {
        peer.send(version == 1 ? mdp01::reply(client, body) : mdp02::final(client, body));
    }

    bool disconnected()
    {
        const Message expected = version == 1 ? mdp01::disconnect() : mdp02::disconnect();
        while (auto message = peer.receive(5000ms)) {
            if (*message == expected) {
                return true;
            }
        }
        return false;
    }

    RawPeer peer;
    int version;
};

// Lower bound for a reported percentile of values that are all >= `value`: the histogram may
// report up to kRelativeError below the exact one.
std::uint64_t atLeast(std::chrono::microseconds value)
{
    return static_cast<std::uint64_t>(static_cast<double>(value.count()) *
                                      (1.0 - LatencyHistogram::kRelativeError));
}

} // namespace

class TestBrokerStats : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void registeredWorkerAppears_data();
    void registeredWorkerAppears();
    void requestMakesWorkerBusy();
    void serviceTimeOfASlowWorker();
    void queueWaitGrowsBehindOneWorker();
    void errorRepliesAreCounted();
    void brokerErrorsCountForTheMethod();
    void expiredFloodIsCoalesced();
    void silentWorkerGoesLateThenExpired();
    void evictionDisconnectsAndAnswersWorkerLost_data();
    void evictionDisconnectsAndAnswersWorkerLost();
    void snapshotReadyAtTheConfiguredRate();
    void eventSequencesStrictlyIncrease();
    void methodCardinalityIsBounded();
    void statisticsOffStillCountsWorkers();
    void serviceStatisticsSurviveAWorkerRestart();
};

void TestBrokerStats::registeredWorkerAppears_data()
{
    QTest::addColumn<int>("version");
    QTest::newRow("7/MDP") << 1;
    QTest::newRow("18/MDP") << 2;
}

void TestBrokerStats::registeredWorkerAppears()
{
    QFETCH(int, version);
    TestBroker broker(fastConfig());
    ManualWorker worker(broker, "w-alpha", "alpha", version);
    QTRY_VERIFY_WITH_TIMEOUT(findWorker(broker.snapshot(), "w-alpha"), 5000);

    const BrokerSnapshot snapshot = broker.snapshot();
    const WorkerStats* row = findWorker(snapshot, "w-alpha");
    QVERIFY(row);
    QCOMPARE(row->identity, QByteArray("w-alpha"));
    QCOMPARE(row->service, QStringLiteral("alpha"));
    QCOMPARE(row->protocol, version == 1 ? QStringLiteral("MDPW01") : QStringLiteral("MDPW02"));
    QCOMPARE(row->peerAddress, QStringLiteral("127.0.0.1"));
    QCOMPARE(toString(row->state), toString(WorkerStats::State::Idle));
    QVERIFY(row->currentMethod.isEmpty());
    QCOMPARE(row->served, std::uint64_t(0));

    const ServiceStats* service = findService(snapshot, "alpha");
    QVERIFY(service);
    QCOMPARE(service->idleWorkers, std::uint64_t(1));
    QCOMPARE(service->busyWorkers, std::uint64_t(0));
    QCOMPARE(countEvents(snapshot, BrokerEvent::Kind::WorkerJoined, "w-alpha"), 1);
    QCOMPARE(snapshot.totals.workersRegistered, std::uint64_t(1));
    QCOMPARE(snapshot.backendEndpoints, QStringList{QString::fromStdString(broker.backend())});
}

void TestBrokerStats::requestMakesWorkerBusy()
{
    TestBroker broker(fastConfig());
    ManualWorker worker(broker, "w-busy", "busy");
    QTRY_VERIFY_WITH_TIMEOUT(findWorker(broker.snapshot(), "w-busy"), 5000);
    Client client(broker);
    client.call("busy", "r1", "slow_op");
    const auto held = worker.nextRequest();
    QVERIFY(held);
    client.call("busy", "r2", "slow_op"); // waits: the only worker is busy

    QTRY_COMPARE_WITH_TIMEOUT(findService(broker.snapshot(), "busy")->queueDepth, std::uint64_t(1),
                              5000);
    BrokerSnapshot snapshot = broker.snapshot();
    const WorkerStats* row = findWorker(snapshot, "w-busy");
    QVERIFY(row);
    QCOMPARE(toString(row->state), toString(WorkerStats::State::Busy));
    QCOMPARE(row->currentMethod, QStringLiteral("slow_op"));
    QVERIFY(row->busyForMs >= 0);
    const ServiceStats* service = findService(snapshot, "busy");
    QCOMPARE(service->busyWorkers, std::uint64_t(1));
    QCOMPARE(service->idleWorkers, std::uint64_t(0));
    QCOMPARE(service->requests, std::uint64_t(2));

    worker.reply(held->first, {"r1", kOk, pack(1)});
    QVERIFY(client.answer());
    const auto second = worker.nextRequest(); // the queued one, at once
    QVERIFY(second);
    worker.reply(second->first, {"r2", kOk, pack(2)});
    QVERIFY(client.answer());

    QTRY_COMPARE_WITH_TIMEOUT(findWorker(broker.snapshot(), "w-busy")->served, std::uint64_t(2),
                              5000);
    snapshot = broker.snapshot();
    QCOMPARE(toString(findWorker(snapshot, "w-busy")->state), toString(WorkerStats::State::Idle));
    QCOMPARE(findService(snapshot, "busy")->queueDepth, std::uint64_t(0));
    const MethodStats* method = findMethod(snapshot, "busy", "slow_op");
    QVERIFY(method);
    QCOMPARE(method->calls, std::uint64_t(2));
    QCOMPARE(method->errors, std::uint64_t(0));
}

void TestBrokerStats::serviceTimeOfASlowWorker()
{
    TestBroker broker(fastConfig());
    // The handler's sleep is the work being measured, not a way to wait for something.
    RawWorker worker(broker.context(), broker.backend(), "slow",
                     [](const RawWorker::Request& request, RawWorker::Session& session) {
                         std::this_thread::sleep_for(20ms);
                         session.final(request, pack(1));
                     });
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    Client client(broker);
    for (int i = 0; i < 10; ++i) {
        client.call("slow", std::to_string(i), "work");
        const auto answer = client.answer();
        QVERIFY(answer);
        QCOMPARE((*answer)[1], kOk);
    }
    const BrokerSnapshot snapshot = broker.snapshot();
    const MethodStats* method = findMethod(snapshot, "slow", "work");
    QVERIFY(method);
    QCOMPARE(method->calls, std::uint64_t(10));
    for (const LatencyBreakdown* latency : {&method->sinceStart, &method->window}) {
        QCOMPARE(latency->serviceTime.count, std::uint64_t(10));
        QVERIFY2(latency->serviceTime.p50Us >= atLeast(20ms),
                 qPrintable(QString::number(latency->serviceTime.p50Us)));
        QVERIFY(latency->serviceTime.maxUs >= 20000);
        // One request at a time: nothing waited for the worker.
        QVERIFY2(latency->queueWait.p99Us < 10000,
                 qPrintable(QString::number(latency->queueWait.p99Us)));
        QVERIFY(latency->total.p50Us >= latency->serviceTime.p50Us);
        QVERIFY(latency->total.maxUs >= latency->serviceTime.maxUs);
    }
    QVERIFY(method->callsPerSecond > 0);
}

void TestBrokerStats::queueWaitGrowsBehindOneWorker()
{
    TestBroker broker(fastConfig());
    RawWorker worker(broker.context(), broker.backend(), "single",
                     [](const RawWorker::Request& request, RawWorker::Session& session) {
                         std::this_thread::sleep_for(20ms); // the work
                         session.final(request, pack(1));
                     });
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    Client client(broker);
    for (int i = 0; i < 5; ++i) {
        client.call("single", std::to_string(i), "work");
    }
    for (int i = 0; i < 5; ++i) {
        QVERIFY(client.answer());
    }
    const BrokerSnapshot snapshot = broker.snapshot();
    const MethodStats* method = findMethod(snapshot, "single", "work");
    QVERIFY(method);
    const LatencySummary& wait = method->sinceStart.queueWait;
    QCOMPARE(wait.count, std::uint64_t(5));
    // Served one after the other: the waits are about 0, 20, 40, 60 and 80 ms.
    QVERIFY2(wait.p50Us >= atLeast(35ms), qPrintable(QString::number(wait.p50Us)));
    QVERIFY2(wait.maxUs >= 75000, qPrintable(QString::number(wait.maxUs)));
    QVERIFY(method->sinceStart.total.maxUs >= wait.maxUs + 20000);
}

void TestBrokerStats::errorRepliesAreCounted()
{
    TestBroker broker(fastConfig());
    RawWorker worker(broker.context(), broker.backend(), "picky",
                     [](const RawWorker::Request& request, RawWorker::Session& session) {
                         if (request.method == "fail") {
                             session.error(request, "ValueError", "refused");
                         } else {
                             session.final(request, pack(1));
                         }
                     });
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    Client client(broker);
    for (const char* method : {"fail", "ok", "fail", "ok", "fail"}) {
        client.call("picky", method, method);
        QVERIFY(client.answer());
    }
    const BrokerSnapshot snapshot = broker.snapshot();
    const MethodStats* fail = findMethod(snapshot, "picky", "fail");
    const MethodStats* ok = findMethod(snapshot, "picky", "ok");
    QVERIFY(fail && ok);
    QCOMPARE(fail->calls, std::uint64_t(3));
    QCOMPARE(fail->errors, std::uint64_t(3));
    QVERIFY(fail->errorsPerSecond > 0);
    QCOMPARE(ok->calls, std::uint64_t(2));
    QCOMPARE(ok->errors, std::uint64_t(0));
    // Error replies are answers from the worker: their latency counts like any other.
    QCOMPARE(fail->sinceStart.serviceTime.count, std::uint64_t(3));
    const ServiceStats* service = findService(snapshot, "picky");
    QCOMPARE(service->requests, std::uint64_t(5));
    QCOMPARE(service->errors, std::uint64_t(3));
    QCOMPARE(snapshot.workers.size(), qsizetype(1));
    QCOMPARE(snapshot.workers[0].served, std::uint64_t(5));
    QCOMPARE(snapshot.workers[0].errors, std::uint64_t(3));
    QCOMPARE(snapshot.totals.errors, std::uint64_t(3));
    QCOMPARE(snapshot.totals.replies, std::uint64_t(5));
}

void TestBrokerStats::brokerErrorsCountForTheMethod()
{
    auto config = fastConfig();
    config.requestTimeout = 200ms;
    TestBroker broker(config);
    Client client(broker);
    client.call("nobody", "r", "lookup");
    const auto answer = client.answer();
    QVERIFY(answer);
    QCOMPARE(unpackError((*answer)[2]).type, std::string("ServiceUnavailable"));

    const BrokerSnapshot snapshot = broker.snapshot();
    const MethodStats* method = findMethod(snapshot, "nobody", "lookup");
    QVERIFY(method);
    QCOMPARE(method->calls, std::uint64_t(1));
    QCOMPARE(method->errors, std::uint64_t(1));
    QCOMPARE(method->sinceStart.total.count, std::uint64_t(0)); // no worker took any time
    // The service itself is gone (nothing refers to it), its statistics are not.
    QCOMPARE(broker.counters().services, std::size_t(0));
    const ServiceStats* service = findService(snapshot, "nobody");
    QVERIFY(service);
    QCOMPARE(service->expired, std::uint64_t(1));
    QCOMPARE(service->errors, std::uint64_t(1));
    QCOMPARE(snapshot.totals.expired, std::uint64_t(1));
    QCOMPARE(countEvents(snapshot, BrokerEvent::Kind::RequestExpired), 1);
}

void TestBrokerStats::expiredFloodIsCoalesced()
{
    auto config = fastConfig();
    config.requestTimeout = 100ms;
    TestBroker broker(config);
    Client client(broker);
    constexpr int kRequests = 300;
    for (int i = 0; i < kRequests; ++i) {
        client.call("void", std::to_string(i), "m");
    }
    for (int i = 0; i < kRequests; ++i) {
        QVERIFY(client.answer());
    }
    const auto expiredCount = [&] {
        const auto events = broker.snapshot().events;
        return std::accumulate(events.begin(), events.end(), std::uint64_t(0),
                               [](std::uint64_t sum, const BrokerEvent& event) {
                                   return event.kind == BrokerEvent::Kind::RequestExpired
                                              ? sum + event.count
                                              : sum;
                               });
    };
    // The first is written at once, the rest within its second are held and written as one.
    QTRY_COMPARE_WITH_TIMEOUT(expiredCount(), std::uint64_t(kRequests), 5000);
    const int events = countEvents(broker.snapshot(), BrokerEvent::Kind::RequestExpired);
    QVERIFY2(events <= 3, qPrintable(QString::number(events)));
}

void TestBrokerStats::silentWorkerGoesLateThenExpired()
{
    auto config = fastConfig();
    config.heartbeatInterval = 200ms; // late after 300 ms of silence, purged after 1000 ms
    TestBroker broker(config);
    ManualWorker worker(broker, "w-quiet", "quiet"); // says READY, then nothing
    QTRY_VERIFY_WITH_TIMEOUT(findWorker(broker.snapshot(), "w-quiet"), 5000);
    WorkerStats seen;
    const auto state = [&] {
        const BrokerSnapshot snapshot = broker.snapshot();
        const WorkerStats* row = findWorker(snapshot, "w-quiet");
        if (row) {
            seen = *row;
        }
        return row ? toString(row->state) : QStringLiteral("gone");
    };
    QTRY_COMPARE_WITH_TIMEOUT(state(), toString(WorkerStats::State::Late), 5000);
    QVERIFY(seen.livenessLeft < config.liveness);
    QVERIFY(seen.livenessLeft > 0);
    QVERIFY(seen.lastSeenAgeMs >= 300);

    QTRY_COMPARE_WITH_TIMEOUT(state(), toString(WorkerStats::State::Expired), 5000);
    const BrokerSnapshot snapshot = broker.snapshot();
    QCOMPARE(broker.counters().workers, std::size_t(0));
    const WorkerStats* row = findWorker(snapshot, "w-quiet");
    QCOMPARE(row->service, QStringLiteral("quiet"));
    QCOMPARE(row->livenessLeft, 0);
    QVERIFY(row->lastSeenAgeMs >= 1000);
    QCOMPARE(countEvents(snapshot, BrokerEvent::Kind::WorkerExpired, "w-quiet"), 1);
    QCOMPARE(snapshot.totals.workersPurged, std::uint64_t(1));
}

void TestBrokerStats::evictionDisconnectsAndAnswersWorkerLost_data()
{
    QTest::addColumn<int>("version");
    QTest::newRow("7/MDP worker") << 1;
    QTest::newRow("18/MDP worker") << 2;
}

void TestBrokerStats::evictionDisconnectsAndAnswersWorkerLost()
{
    QFETCH(int, version);
    TestBroker broker(fastConfig());
    ManualWorker victim(broker, "victim", "evictable", version);
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    ManualWorker bystander(broker, "bystander", "evictable", version);
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(2), 5000);
    Client client(broker);
    client.call("evictable", "held", "long_job");
    QVERIFY(victim.nextRequest()); // least recently used: the first to register
    const QByteArray busyIdentity("victim");
    ManualWorker& holder = victim;
    QTRY_COMPARE_WITH_TIMEOUT(toString(findWorker(broker.snapshot(), "victim")->state),
                              toString(WorkerStats::State::Busy), 5000);

    QVERIFY(broker.evictWorker(busyIdentity));
    QVERIFY2(holder.disconnected(), "the evicted worker was not sent DISCONNECT in its version");
    const auto answer = client.answer();
    QVERIFY(answer);
    QCOMPARE((*answer)[0], std::string("held"));
    const ErrorReply error = unpackError((*answer)[2]);
    QCOMPARE(error.type, std::string("WorkerLost"));
    QVERIFY2(error.message.find("evicted") != std::string::npos, error.message.c_str());

    const BrokerSnapshot snapshot = broker.snapshot();
    QVERIFY(!findWorker(snapshot, QString::fromLatin1(busyIdentity)));
    QCOMPARE(snapshot.workers.size(), qsizetype(1));
    QCOMPARE(
        countEvents(snapshot, BrokerEvent::Kind::WorkerEvicted, QString::fromLatin1(busyIdentity)),
        1);
    QCOMPARE(snapshot.totals.workersEvicted, std::uint64_t(1));
    QCOMPARE(snapshot.totals.workerLost, std::uint64_t(1));
    const MethodStats* method = findMethod(snapshot, "evictable", "long_job");
    QCOMPARE(method->errors, std::uint64_t(1));

    QVERIFY(!broker.evictWorker(busyIdentity)); // gone already
    QVERIFY(!broker.evictWorker("nobody-has-this-name"));
}

void TestBrokerStats::snapshotReadyAtTheConfiguredRate()
{
    // A broker on this thread, so QSignalSpy sees the signal as a subscriber would.
    zmq::context_t context;
    BrokerConfig config;
    config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.adminEndpoints.clear();
    config.snapshotInterval = 100ms;
    Broker broker(config, context);
    QSignalSpy spy(&broker, &Broker::snapshotReady);
    QElapsedTimer clock;
    clock.start();
    broker.start();
    QTRY_VERIFY_WITH_TIMEOUT(spy.count() >= 10, 10000);
    const auto elapsed = clock.elapsed();
    QVERIFY2(elapsed >= 950, qPrintable(QString::number(elapsed))); // not faster than asked
    std::uint64_t previous = 0;
    for (const QList<QVariant>& arguments : spy) {
        const auto snapshot = arguments.at(0).value<BrokerSnapshot>();
        QVERIFY(snapshot.sequence > previous);
        previous = snapshot.sequence;
        QCOMPARE(snapshot.frontendEndpoints, broker.frontendEndpoints());
    }
    broker.shutdown();
}

void TestBrokerStats::eventSequencesStrictlyIncrease()
{
    TestBroker broker(fastConfig());
    for (int i = 0; i < 5; ++i) {
        ManualWorker worker(broker, "w" + std::to_string(i), "churn");
        QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workersRegistered, std::uint64_t(i + 1), 5000);
        worker.peer.send(mdp02::disconnect());
        QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(0), 5000);
    }
    const BrokerSnapshot first = broker.snapshot();
    QCOMPARE(countEvents(first, BrokerEvent::Kind::WorkerJoined), 5);
    QCOMPARE(countEvents(first, BrokerEvent::Kind::WorkerLeft), 5);
    for (qsizetype i = 1; i < first.events.size(); ++i) {
        QVERIFY(first.events[i].sequence > first.events[i - 1].sequence);
    }
    ManualWorker late(broker, "late", "churn");
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    const BrokerSnapshot second = broker.snapshot();
    QVERIFY(second.events.last().sequence > first.events.last().sequence);
    QVERIFY(second.sequence > first.sequence);
}

void TestBrokerStats::methodCardinalityIsBounded()
{
    auto config = fastConfig();
    config.requestTimeout = 100ms;
    config.maxQueuePerService = 100000;
    TestBroker broker(config);
    RawWorker worker(broker.context(), broker.backend(), "open",
                     [](const RawWorker::Request& request, RawWorker::Session& session) {
                         session.final(request, pack(1));
                     });
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    Client client(broker);
    constexpr int kNames = 10000;
    // One served service with made-up method names, then made-up services (answered
    // ServiceUnavailable) with 50 names each: both bounds, per service and overall. In batches,
    // so that no answer is dropped at a socket's high-water mark while the client only sends.
    constexpr int kBatch = 500;
    for (int first = 0; first < 2 * kNames; first += kBatch) {
        for (int i = first; i < first + kBatch; ++i) {
            if (i < kNames) {
                client.call("open", std::to_string(i), "m-" + std::to_string(i));
            } else {
                client.call("made-up-" + std::to_string(i / 50), std::to_string(i),
                            "n-" + std::to_string(i));
            }
        }
        for (int i = first; i < first + kBatch; ++i) {
            QVERIFY2(client.answer(), qPrintable(QString::number(i)));
        }
    }

    const BrokerSnapshot snapshot = broker.snapshot();
    QVERIFY(snapshot.methods.size() <= qsizetype(BrokerStatistics::kMaxMethods + 1));
    std::uint64_t calls = 0;
    std::uint64_t openRows = 0;
    for (const MethodStats& method : snapshot.methods) {
        calls += method.calls;
        openRows += method.service == QLatin1String("open") ? 1 : 0;
    }
    QCOMPARE(calls, std::uint64_t(2 * kNames)); // every call counted somewhere
    QCOMPARE(openRows, std::uint64_t(BrokerStatistics::kMaxMethodsPerService + 1));
    const MethodStats* other = findMethod(snapshot, "open", "(other)");
    QVERIFY(other);
    QCOMPARE(other->calls, std::uint64_t(kNames - BrokerStatistics::kMaxMethodsPerService));
    QVERIFY(findMethod(snapshot, "(other)", "(other)"));

    // And the broker still serves.
    client.call("open", "after", "m-0");
    const auto answer = client.answer();
    QVERIFY(answer);
    QCOMPARE((*answer)[1], kOk);
}

void TestBrokerStats::statisticsOffStillCountsWorkers()
{
    auto config = fastConfig();
    config.statistics = false;
    TestBroker broker(config);
    ManualWorker worker(broker, "w-plain", "plain");
    QTRY_VERIFY_WITH_TIMEOUT(findWorker(broker.snapshot(), "w-plain"), 5000);
    Client client(broker);
    client.call("plain", "r", "m");
    const auto held = worker.nextRequest();
    QVERIFY(held);
    QTRY_COMPARE_WITH_TIMEOUT(findService(broker.snapshot(), "plain")->busyWorkers,
                              std::uint64_t(1), 5000);
    worker.reply(held->first, {"r", kOk, pack(1)});
    QVERIFY(client.answer());
    QTRY_COMPARE_WITH_TIMEOUT(findWorker(broker.snapshot(), "w-plain")->served, std::uint64_t(1),
                              5000);
    const BrokerSnapshot snapshot = broker.snapshot();
    QVERIFY(snapshot.methods.isEmpty());
    QCOMPARE(snapshot.totals.requests, std::uint64_t(1));
    QCOMPARE(snapshot.totals.replies, std::uint64_t(1));
    QCOMPARE(findService(snapshot, "plain")->idleWorkers, std::uint64_t(1));
}

void TestBrokerStats::serviceStatisticsSurviveAWorkerRestart()
{
    TestBroker broker(fastConfig());
    Client client(broker);
    {
        ManualWorker worker(broker, "first", "phoenix");
        QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
        client.call("phoenix", "a", "rise");
        const auto held = worker.nextRequest();
        QVERIFY(held);
        worker.reply(held->first, {"a", kOk, pack(1)});
        QVERIFY(client.answer());
        worker.peer.send(mdp02::disconnect());
        QTRY_COMPARE_WITH_TIMEOUT(broker.counters().services, std::size_t(0), 5000);
    }
    // The broker forgot the service, the statistics kept it.
    const BrokerSnapshot before = broker.snapshot();
    const ServiceStats* gone = findService(before, "phoenix");
    QVERIFY(gone);
    QCOMPARE(gone->requests, std::uint64_t(1));
    QCOMPARE(gone->idleWorkers + gone->busyWorkers, std::uint64_t(0));

    ManualWorker worker(broker, "second", "phoenix");
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    client.call("phoenix", "b", "rise");
    const auto held = worker.nextRequest();
    QVERIFY(held);
    worker.reply(held->first, {"b", kOk, pack(1)});
    QVERIFY(client.answer());
    const BrokerSnapshot snapshot = broker.snapshot();
    QCOMPARE(findService(snapshot, "phoenix")->requests, std::uint64_t(2));
    QCOMPARE(findMethod(snapshot, "phoenix", "rise")->calls, std::uint64_t(2));
}

QTEST_GUILESS_MAIN(TestBrokerStats)
#include "tst_brokerstats.moc"
