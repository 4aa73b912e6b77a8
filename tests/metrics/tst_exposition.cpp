// metrics::exposition() on a snapshot and counters built by hand: the names, labels and exact
// values an alert rule or a dashboard reads, histograms rebucketed onto their fixed bounds, and
// the bound on series that made-up service names cannot push.

#include "metricstext.h"
#include <switchboard/metrics/brokermetrics.h>
#include <switchboard/monitoring/latencyhistogram.h>
#include <switchboard/statistics/brokerstatistics.h>

#include <QTest>

using namespace switchboard;
using namespace switchboard::test;

namespace {

// The bucket that holds `us` and its count, as a snapshot carries it.
LatencyBucket bucketOf(std::uint64_t us, std::uint64_t count)
{
    return {static_cast<std::uint64_t>(LatencyHistogram::indexOf(us)), count};
}

std::size_t kindIndex(ProtocolErrorKind kind)
{
    return static_cast<std::size_t>(kind);
}

BrokerSnapshot handBuilt()
{
    BrokerSnapshot snapshot;
    snapshot.version = QStringLiteral("1.2.3");
    snapshot.uptimeMs = 12'500;

    ServiceStats svc;
    svc.name = QStringLiteral("svc");
    svc.queueDepth = 3;
    svc.queuedBytes = 300;
    svc.idleWorkers = 1;
    svc.busyWorkers = 2;
    svc.expired = 2;
    ServiceStats empty;
    empty.name = QStringLiteral("empty"); // known, no worker: its workers show as 0
    snapshot.services = {empty, svc};

    MethodStats get;
    get.service = QStringLiteral("svc");
    get.method = QStringLiteral("get");
    get.outcomes = {5, 1, 1, 1, 1, 1, 1};
    get.calls = get.outcomes.sum();
    // Values of 50 us (2), 99 us (1), 100 us (1), 150 us (3) and 100 s (1).
    get.sinceStartTotalBuckets = {bucketOf(50, 2), bucketOf(99, 1), bucketOf(100, 1),
                                  bucketOf(150, 3), bucketOf(100'000'000, 1)};
    get.sinceStartTotalSumUs = 2 * 50 + 99 + 100 + 3 * 150 + 100'000'000;
    get.sinceStartQueueWaitBuckets = {bucketOf(3, 8)};
    get.sinceStartQueueWaitSumUs = 24;
    MethodStats put;
    put.service = QStringLiteral("svc");
    put.method = QStringLiteral("put \"quoted\"");
    put.outcomes.ok = 2;
    put.calls = 2;
    snapshot.methods = {get, put};

    WorkerStats idle;
    idle.service = QStringLiteral("svc");
    idle.state = WorkerStats::State::Idle;
    idle.capacity = 1;
    WorkerStats busy = idle;
    busy.state = WorkerStats::State::Busy;
    busy.inFlight = 2;
    busy.capacity = 4;
    WorkerStats late = idle;
    late.state = WorkerStats::State::Late;
    WorkerStats expired = idle; // gone: in no gauge
    expired.state = WorkerStats::State::Expired;
    expired.capacity = 100;
    snapshot.workers = {idle, busy, late, expired};
    return snapshot;
}

BrokerCounters handBuiltCounters()
{
    BrokerCounters counters;
    counters.refusedUnread = 4;
    counters.malformedByKind[kindIndex(ProtocolErrorKind::InvalidMethod)] = 3;
    counters.malformedFromWorkersByKind[kindIndex(ProtocolErrorKind::InvalidMethod)] = 1;
    counters.malformedByKind[kindIndex(ProtocolErrorKind::InvalidCredit)] = 2;
    counters.malformedFromWorkersByKind[kindIndex(ProtocolErrorKind::InvalidCredit)] = 2;
    counters.adminMalformed = 6;
    counters.workersRegistered = 10;
    counters.workersLeft = 1;
    counters.workersPurged = 2;
    counters.workersEvicted = 3;
    counters.workersDisconnected = 4;
    counters.requeued = 7;
    counters.lateReplies = 8;
    counters.workerDeclines = 9;
    counters.curveRefused = 11;
    counters.curveHandshakesFailed = 12;
    counters.heldReplies = 13;
    counters.heldReplyBytes = 14'000;
    counters.clientUnreachable = 15;
    counters.heldRepliesReleased = 16;
    counters.mmiRequests = 17;
    return counters;
}

} // namespace

class TestExposition : public QObject {
    Q_OBJECT

private slots:
    void namesLabelsAndCounts();
    void requestOutcomes();
    void histogramsAreCumulativeAndRoundedUp();
    void processMetrics();
    void promtoolAcceptsIt();
    void madeUpServicesAreBounded();
};

void TestExposition::namesLabelsAndCounts()
{
    const MetricsText text(metrics::exposition(handBuilt(), handBuiltCounters()));
    QCOMPARE(text.value(R"(switchboard_build_info{version="1.2.3"})"), 1.0);
    QCOMPARE(text.value("switchboard_uptime_seconds"), 12.5);

    QCOMPARE(text.value(R"(switchboard_queued_requests{service="svc"})"), 3.0);
    QCOMPARE(text.value(R"(switchboard_queued_bytes{service="svc"})"), 300.0);
    QCOMPARE(text.value(R"(switchboard_workers{service="svc",state="idle"})"), 1.0);
    QCOMPARE(text.value(R"(switchboard_workers{service="svc",state="busy"})"), 1.0);
    QCOMPARE(text.value(R"(switchboard_workers{service="svc",state="late"})"), 1.0);
    QCOMPARE(text.value(R"(switchboard_in_flight_requests{service="svc"})"), 2.0);
    QCOMPARE(text.value(R"(switchboard_worker_capacity{service="svc"})"), 6.0);
    QCOMPARE(text.value(R"(switchboard_expired_total{service="svc"})"), 2.0);
    // "No worker" is a visible 0, not a missing series.
    for (const char* state : {"idle", "busy", "late"}) {
        QCOMPARE(text.value(std::string(R"(switchboard_workers{service="empty",state=")") + state +
                            "\"}"),
                 0.0);
    }
    QCOMPARE(text.value(R"(switchboard_queued_requests{service="empty"})"), 0.0);

    QCOMPARE(text.value("switchboard_redispatched_total"), 7.0);
    QCOMPARE(text.value("switchboard_late_replies_total"), 8.0);
    QCOMPARE(text.value("switchboard_declined_total"), 9.0);
    QCOMPARE(text.value("switchboard_mmi_requests_total"), 17.0);
    QCOMPARE(
        text.value(R"(switchboard_malformed_messages_total{peer="client",kind="invalid_method"})"),
        2.0);
    QCOMPARE(
        text.value(R"(switchboard_malformed_messages_total{peer="worker",kind="invalid_method"})"),
        1.0);
    QCOMPARE(
        text.value(R"(switchboard_malformed_messages_total{peer="worker",kind="invalid_credit"})"),
        2.0);
    QCOMPARE(
        text.value(R"(switchboard_malformed_messages_total{peer="client",kind="too_few_frames"})"),
        0.0);
    QCOMPARE(
        text.value(R"(switchboard_malformed_messages_total{peer="admin",kind="invalid_request"})"),
        6.0);
    QCOMPARE(text.sum("switchboard_malformed_messages_total{"), 3.0 + 2.0 + 6.0);
    QCOMPARE(text.value("switchboard_worker_connections_opened_total"), 10.0);
    QCOMPARE(text.value(R"(switchboard_worker_connections_closed_total{reason="left"})"), 1.0);
    QCOMPARE(text.value(R"(switchboard_worker_connections_closed_total{reason="expired"})"), 2.0);
    QCOMPARE(text.value(R"(switchboard_worker_connections_closed_total{reason="evicted"})"), 3.0);
    QCOMPARE(text.value(R"(switchboard_worker_connections_closed_total{reason="disconnected"})"),
             4.0);
    QCOMPARE(text.value(R"(switchboard_curve_handshakes_refused_total{reason="refused"})"), 11.0);
    QCOMPARE(text.value(R"(switchboard_curve_handshakes_refused_total{reason="handshake_failed"})"),
             12.0);
    QCOMPARE(text.value("switchboard_held_replies"), 13.0);
    QCOMPARE(text.value("switchboard_held_reply_bytes"), 14000.0);
    QCOMPARE(text.value("switchboard_replies_dropped_total"), 31.0);
}

void TestExposition::requestOutcomes()
{
    const MetricsText text(metrics::exposition(handBuilt(), handBuiltCounters()));
    const std::string get = R"(switchboard_requests_total{service="svc",method="get",outcome=")";
    QCOMPARE(text.value(get + "ok\"}"), 5.0);
    for (const char* outcome :
         {"error", "expired", "unavailable", "queue_full", "worker_lost", "shutdown"}) {
        QCOMPARE(text.value(get + outcome + "\"}"), 1.0);
    }
    // The serializer escapes what peers put in names.
    QCOMPARE(text.value("switchboard_requests_total{service=\"svc\",method=\"put "
                        "\\\"quoted\\\"\",outcome=\"ok\"}"),
             2.0);
    QCOMPARE(text.sum(R"(switchboard_requests_total{service="svc",)"), 11.0 + 2.0);
    // Refused before a service was looked at.
    QCOMPARE(text.value(R"(switchboard_requests_total{service="",method="",outcome="queue_full"})"),
             4.0);
}

void TestExposition::histogramsAreCumulativeAndRoundedUp()
{
    const MetricsText text(metrics::exposition(handBuilt(), handBuiltCounters()));
    const std::string series =
        R"(switchboard_request_duration_seconds_bucket{service="svc",method="get",le=")";
    const auto bucket = [&](const char* le) { return text.value(series + le + "\"}"); };
    // 50 us and 99 us lie in buckets that end at or below 100 us; 100 us lies in [100, 104) us,
    // whose upper bound is above .0001, so it is counted from .00025 on: never overstated.
    QCOMPARE(bucket("0.0001"), 3.0);
    QCOMPARE(bucket("0.00025"), 7.0);
    QCOMPARE(bucket("60"), 7.0);
    QCOMPARE(bucket("+Inf"), 8.0); // 100 s is beyond the last bound
    QCOMPARE(
        text.value(R"(switchboard_request_duration_seconds_count{service="svc",method="get"})"),
        8.0);
    QCOMPARE(text.value(R"(switchboard_request_duration_seconds_sum{service="svc",method="get"})"),
             100.000749);

    const char* bounds[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
                            "0.025",  "0.05",    "0.1",    "0.25",  "0.5",    "1",     "2.5",
                            "5",      "10",      "30",     "60",    "+Inf"};
    double previous = 0;
    for (const char* le : bounds) {
        QVERIFY2(text.has(series + le + "\"}"), le);
        QVERIFY2(bucket(le) >= previous, le);
        previous = bucket(le);
    }

    const std::string wait =
        R"(switchboard_queue_wait_seconds_bucket{service="svc",method="get",le=")";
    QCOMPARE(text.value(wait + "0.0001\"}"), 8.0);
    QCOMPARE(text.value(wait + "+Inf\"}"), 8.0);
    QCOMPARE(text.value(R"(switchboard_queue_wait_seconds_sum{service="svc",method="get"})"),
             0.000024);
    // A method without answers from workers still has its (empty) histogram.
    QCOMPARE(
        text.value(
            "switchboard_queue_wait_seconds_count{service=\"svc\",method=\"put \\\"quoted\\\"\"}"),
        0.0);
}

void TestExposition::processMetrics()
{
    const MetricsText text(metrics::exposition({}, {}));
    QVERIFY(text.value("process_cpu_seconds_total") >= 0);
    QVERIFY(text.value("process_resident_memory_bytes") > 1024 * 1024);
    QVERIFY(text.value("process_virtual_memory_bytes") >=
            text.value("process_resident_memory_bytes"));
    QVERIFY(text.value("process_open_fds") >= 3);
    QVERIFY(text.value("process_max_fds") >= text.value("process_open_fds"));
    const double now = double(QDateTime::currentSecsSinceEpoch());
    QVERIFY(text.value("process_start_time_seconds") > now - 24 * 3600);
    QVERIFY(text.value("process_start_time_seconds") <= now + 1);
}

void TestExposition::promtoolAcceptsIt()
{
    const QString problems =
        promtoolProblems(metrics::exposition(handBuilt(), handBuiltCounters()));
    QVERIFY2(problems.isEmpty(), qPrintable(problems));
    // A broker that has seen nothing yet: families without samples.
    const QString empty = promtoolProblems(metrics::exposition({}, {}));
    QVERIFY2(empty.isEmpty(), qPrintable(empty));
}

void TestExposition::madeUpServicesAreBounded()
{
    // A broker without statistics folds nothing into "(other)" itself: the exposition still
    // bounds the service label, and keeps services with workers.
    BrokerSnapshot snapshot;
    for (int i = 0; i < 3000; ++i) {
        ServiceStats service;
        service.name = QStringLiteral("made-up-%1").arg(i, 5, 10, QLatin1Char('0'));
        service.queueDepth = 1;
        snapshot.services.push_back(service);
    }
    ServiceStats real;
    real.name = QStringLiteral("zz-real");
    real.idleWorkers = 1;
    snapshot.services.push_back(real);
    WorkerStats worker;
    worker.service = real.name;
    snapshot.workers.push_back(worker);

    const MetricsText text(metrics::exposition(snapshot, {}));
    const auto services = text.labelValues("switchboard_queued_requests", "service");
    QCOMPARE(services.size(), BrokerStatistics::kMaxServices + 1);
    QVERIFY(services.count(std::string(BrokerStatistics::kCatchAll)));
    QCOMPARE(text.value(R"(switchboard_workers{service="zz-real",state="idle"})"), 1.0);
    // Nothing is lost, only folded.
    QCOMPARE(text.sum("switchboard_queued_requests{"), 3000.0);
}

QTEST_GUILESS_MAIN(TestExposition)
#include "tst_exposition.moc"
