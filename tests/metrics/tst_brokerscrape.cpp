// What a Prometheus scrape of a real broker returns: metrics::exposition() of an in-process
// broker's snapshot and counters after traffic from raw MDP peers, with requests ending in every
// way a test can provoke. promtool must accept it without a lint warning, every answered request
// must be counted in exactly one outcome, and made-up names must not grow it without bound.

#include "metricstext.h"
#include "rawpeer.h"
#include "rawworker.h"
#include "testbroker.h"
#include <switchboard/metrics/brokermetrics.h>
#include <switchboard/statistics/brokerstatistics.h>

#include <QTest>

#include <map>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

// A client on a DEALER, 18/MDP, that keeps what each answer said (outcomeOf()).
struct Client {
    explicit Client(TestBroker& broker)
        : peer(broker.context(), broker.frontend())
    {}

    void call(const std::string& service, const std::string& method)
    {
        peer.send(mdp02::request(service, {std::to_string(++sent), method, packArgs()}));
    }

    // Waits for answers until `count` have arrived in all.
    bool awaitAnswers(int count, std::chrono::milliseconds timeout = 20000ms)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (answers < count && std::chrono::steady_clock::now() < deadline) {
            if (auto message = peer.receive(200ms)) {
                ++outcomes[outcomeOf(*message)];
                ++answers;
            }
        }
        return answers == count;
    }

    RawPeer peer;
    int sent = 0;
    int answers = 0;
    std::map<std::string, int> outcomes;
};

// A worker the test drives by hand: it takes one request and answers nothing.
struct SilentWorker {
    SilentWorker(TestBroker& broker, const std::string& service)
        : peer(broker.context(), broker.backend(), "w-silent")
    {
        peer.send(mdp02::ready(service));
    }

    bool receivedRequest()
    {
        while (auto message = peer.receive(5000ms)) {
            if (message->size() >= 5 && (*message)[1] == "\x02") {
                return true;
            }
        }
        return false;
    }

    RawPeer peer;
};

std::string requests(const std::string& service, const std::string& method,
                     const std::string& outcome)
{
    return R"(switchboard_requests_total{service=")" + service + R"(",method=")" + method +
           R"(",outcome=")" + outcome + R"("})";
}

// The most samples an exposition can hold once service and method names are bounded by the
// statistics: per service 8 samples (queue, bytes, 3 worker states, in flight, capacity,
// expired), per method 7 outcomes and two histograms of 19 buckets, _sum and _count, plus
// broker-wide ones.
constexpr std::size_t kSampleBound = 8 * (BrokerStatistics::kMaxServices + 1) +
                                     (7 + 2 * 21) * (BrokerStatistics::kMaxMethods + 2) + 200;

} // namespace

class TestBrokerScrape : public QObject {
    Q_OBJECT

private slots:
    void everyOutcomeCountedOnceAndPromtoolAccepts();
    void madeUpNamesDoNotGrowTheScrape();
};

void TestBrokerScrape::everyOutcomeCountedOnceAndPromtoolAccepts()
{
    BrokerConfig config;
    // The silent worker sends no heartbeat: it goes late, but is not purged within the test.
    config.heartbeatInterval = 200ms;
    config.liveness = 100;
    config.requestTimeout = 1500ms;
    config.maxQueuePerService = 2;
    TestBroker broker(config);
    RawWorker worker(broker.context(), broker.backend(), "x",
                     [](const RawWorker::Request& request, RawWorker::Session& session) {
                         if (request.method == "fail") {
                             session.error(request, "Boom", "it failed on purpose");
                         } else {
                             session.final(request, pack(1));
                         }
                     });
    SilentWorker silent(broker, "slow");
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(2), 5000);

    Client client(broker);
    constexpr int kOk = 40;
    constexpr int kFail = 7;
    for (int i = 0; i < kOk + kFail; ++i) {
        client.call("x", i < kOk ? "ok" : "fail"); // one at a time: the queue holds two
        QVERIFY(client.awaitAnswers(i + 1));
    }
    // One request held by the silent worker, two queued behind it (they expire), three refused.
    client.call("slow", "wait");
    QVERIFY(silent.receivedRequest());
    for (int i = 0; i < 5; ++i) {
        client.call("slow", "wait");
    }
    for (int i = 0; i < 2; ++i) {
        client.call("nobody", "anything"); // no worker: ServiceUnavailable
    }

    // Under load: in flight, queued and refused at once.
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().queuedRequests, std::size_t(4), 5000);
    {
        const std::string body = metrics::exposition(broker.snapshot(), broker.counters());
        const QString problems = promtoolProblems(body);
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        const MetricsText text(body);
        // Busy, or late already: it sends no heartbeat.
        QCOMPARE(text.sum(R"(switchboard_workers{service="slow",)"), 1.0);
        QCOMPARE(text.value(R"(switchboard_in_flight_requests{service="slow"})"), 1.0);
        QCOMPARE(text.value(R"(switchboard_worker_capacity{service="slow"})"), 1.0);
        QCOMPARE(text.value(R"(switchboard_queued_requests{service="slow"})"), 2.0);
        QVERIFY(text.value(R"(switchboard_queued_bytes{service="slow"})") > 0);
        QCOMPARE(text.value(R"(switchboard_workers{service="nobody",state="idle"})"), 0.0);
    }

    QVERIFY(client.awaitAnswers(kOk + kFail + 3 + 2 + 2));
    // The silent worker leaves holding its request: WorkerLost.
    silent.peer.send(mdp02::disconnect());
    QVERIFY(client.awaitAnswers(kOk + kFail + 3 + 2 + 2 + 1));
    QCOMPARE(client.outcomes["OK"], kOk);
    QCOMPARE(client.outcomes["Boom"], kFail);
    QCOMPARE(client.outcomes["QueueFull"], 3);
    QCOMPARE(client.outcomes["Expired"], 2);
    QCOMPARE(client.outcomes["ServiceUnavailable"], 2);
    QCOMPARE(client.outcomes["WorkerLost"], 1);

    const BrokerSnapshot snapshot = broker.snapshot();
    for (const MethodStats& method : snapshot.methods) {
        QCOMPARE(method.outcomes.sum(), method.calls); // each call ended one way
    }
    const std::string body = metrics::exposition(snapshot, broker.counters());
    const QString problems = promtoolProblems(body);
    QVERIFY2(problems.isEmpty(), qPrintable(problems));
    const MetricsText text(body);
    QCOMPARE(text.sum(R"(switchboard_requests_total{service="x",)"), double(kOk + kFail));
    QCOMPARE(text.value(requests("x", "ok", "ok")), double(kOk));
    QCOMPARE(text.value(requests("x", "fail", "error")), double(kFail));
    QCOMPARE(text.value(requests("slow", "wait", "queue_full")), 3.0);
    QCOMPARE(text.value(requests("slow", "wait", "expired")), 2.0);
    QCOMPARE(text.value(requests("slow", "wait", "worker_lost")), 1.0);
    QCOMPARE(text.value(requests("nobody", "anything", "unavailable")), 2.0);
    // Every answer the client got, in exactly one outcome.
    QCOMPARE(text.sum("switchboard_requests_total{"), double(client.answers));

    QCOMPARE(text.value(R"(switchboard_request_duration_seconds_count{service="x",method="ok"})"),
             double(kOk));
    QCOMPARE(
        text.value(
            R"(switchboard_request_duration_seconds_bucket{service="x",method="ok",le="+Inf"})"),
        double(kOk));
    QVERIFY(text.value(R"(switchboard_request_duration_seconds_sum{service="x",method="ok"})") > 0);
    QCOMPARE(text.value(R"(switchboard_queue_wait_seconds_count{service="x",method="fail"})"),
             double(kFail));
    QCOMPARE(text.value(R"(switchboard_expired_total{service="slow"})"), 2.0);
    QCOMPARE(text.value(R"(switchboard_expired_total{service="nobody"})"), 2.0);
    QCOMPARE(text.value("switchboard_worker_connections_opened_total"), 2.0);
    QCOMPARE(text.value(R"(switchboard_worker_connections_closed_total{reason="left"})"), 1.0);
    QVERIFY(text.value("process_resident_memory_bytes") > 0);
}

void TestBrokerScrape::madeUpNamesDoNotGrowTheScrape()
{
    BrokerConfig config;
    config.heartbeatInterval = 100ms;
    config.requestTimeout = 3000ms;
    config.maxQueuePerService = 100000;
    TestBroker broker(config);
    RawWorker worker(broker.context(), broker.backend(), "x",
                     [](const RawWorker::Request& request, RawWorker::Session& session) {
                         session.final(request, pack(request.method.size()));
                     });
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);

    // Half to made-up methods of a served service, half to made-up services (they wait for a
    // worker until their deadline).
    constexpr int kNames = 2500;
    Client client(broker);
    for (int i = 0; i < kNames; ++i) {
        client.call("x", "m-" + std::to_string(i));
        client.call("made-up-" + std::to_string(i), "n-" + std::to_string(i));
    }
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().requestsReceived, std::uint64_t(2 * kNames), 10000);
    const auto checkBounded = [&](const MetricsText& text) {
        QVERIFY2(text.size() <= kSampleBound, qPrintable(QString::number(text.size())));
        QVERIFY(text.labelValues("switchboard_queued_requests", "service").size() <=
                BrokerStatistics::kMaxServices + 1);
        QVERIFY(text.labelValues("switchboard_workers", "service").size() <=
                BrokerStatistics::kMaxServices + 1);
        // "" for the requests refused at intake.
        QVERIFY(text.labelValues("switchboard_requests_total", "service").size() <=
                BrokerStatistics::kMaxServices + 2);
        QVERIFY(text.labelValues("switchboard_requests_total", "method").size() <=
                BrokerStatistics::kMaxMethods + 2);
    };
    {
        // While many made-up services still exist, their requests waiting.
        const MetricsText text(metrics::exposition(broker.snapshot(), broker.counters()));
        checkBounded(text);
        QVERIFY(text.value(R"x(switchboard_queued_requests{service="(other)"})x") > 0);
    }

    QVERIFY(client.awaitAnswers(2 * kNames, 30000ms));
    QCOMPARE(client.outcomes["OK"], kNames);
    QCOMPARE(client.outcomes["ServiceUnavailable"], kNames);
    const MetricsText text(metrics::exposition(broker.snapshot(), broker.counters()));
    checkBounded(text);
    QCOMPARE(text.sum(R"(switchboard_requests_total{service="x",)"), double(kNames));
    QCOMPARE(text.sum("switchboard_requests_total{"), double(2 * kNames));
    QVERIFY(text.sum(R"x(switchboard_requests_total{service="x",method="(other)")x") > 0);
    QVERIFY(text.sum(R"x(switchboard_requests_total{service="(other)")x") > 0);
}

QTEST_GUILESS_MAIN(TestBrokerScrape)
#include "tst_brokerscrape.moc"
