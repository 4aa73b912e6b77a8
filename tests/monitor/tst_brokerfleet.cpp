// Several brokers in one window: BrokerFleet's combine() (merged percentiles, sums, an older
// broker's rows kept apart) and the window over two scripted links (a Broker column, a table of
// brokers, a broker that goes down and comes back, evictions sent to the worker's broker).

#include "brokerfleet.h"
#include "brokertablemodel.h"
#include "methodtablemodel.h"
#include "monitorwindow.h"
#include "scriptedbrokerlink.h"
#include "servicetablemodel.h"
#include "snapshottablemodel.h"
#include "windowlookup.h"
#include "workertablemodel.h"

#include <switchboard/monitoring/latencyhistogram.h>

#include <QAbstractItemModelTester>
#include <QAction>
#include <QBrush>
#include <QHeaderView>
#include <QLineEdit>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTest>

using namespace switchboard;
using namespace switchboard::test;

namespace {

// A method as a broker reports it after serving `latencies` (µs) in its window and since start.
MethodStats served(const QString& service, const QString& method,
                   const std::vector<std::uint64_t>& latencies, bool withHistograms = true)
{
    LatencyHistogram histogram;
    for (const std::uint64_t us : latencies) {
        histogram.record(us);
    }
    MethodStats stats;
    stats.service = service;
    stats.method = method;
    stats.calls = latencies.size();
    stats.callsPerSecond = static_cast<double>(latencies.size()) / 10;
    stats.window.total = histogram.summary();
    stats.sinceStart.total = histogram.summary();
    if (withHistograms) {
        stats.windowTotalBuckets = histogram.buckets();
        stats.sinceStartTotalBuckets = histogram.buckets();
    }
    return stats;
}

WorkerStats worker(const char* name, const char* service)
{
    WorkerStats w;
    w.name = QString::fromLatin1(name);
    w.identity = w.name.toLatin1();
    w.service = QString::fromLatin1(service);
    return w;
}

ServiceStats service(const char* name, std::uint64_t queued, std::uint64_t idle)
{
    ServiceStats s;
    s.name = QString::fromLatin1(name);
    s.queueDepth = queued;
    s.idleWorkers = idle;
    return s;
}

// Broker `n` (1 or 2) of the scripted pair: both serve "echo.ping", each has its own worker.
BrokerSnapshot brokerSnapshot(int n, int tick, const std::vector<std::uint64_t>& latencies)
{
    BrokerSnapshot s;
    s.sequence = static_cast<std::uint64_t>(tick) + 1;
    s.timeMs = 1764597600000 + tick * 1000 + n;
    s.uptimeMs = 60'000 * n + tick * 1000;
    s.version = QStringLiteral("0.1.%1").arg(n);
    s.liveness = 3;
    s.totals.requests = 100 * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(tick);
    s.totals.requestsPerSecond = 10.0 * n;
    s.workers = {worker(n == 1 ? "echo-a" : "echo-b", "echo")};
    s.services = {service("echo", static_cast<std::uint64_t>(n - 1), 1)};
    s.methods = {served(QStringLiteral("echo"), QStringLiteral("ping"), latencies)};
    return s;
}

FleetMember member(const QString& name, BrokerSnapshot snapshot, bool up = true)
{
    FleetMember m;
    m.name = name;
    m.state = up ? BrokerLink::State::Connected : BrokerLink::State::Disconnected;
    m.reporting = up;
    m.last = std::move(snapshot);
    return m;
}

std::vector<std::uint64_t> randomLatencies(quint32 seed, int count, std::uint64_t scaleUs)
{
    QRandomGenerator random(seed);
    std::vector<std::uint64_t> values;
    for (int i = 0; i < count; ++i) {
        // Long-tailed, as latencies are: most near the scale, a few far above.
        const double u = random.generateDouble();
        values.push_back(static_cast<std::uint64_t>(scaleUs * (0.5 + u * u * u * u * 40)));
    }
    return values;
}

bool greyed(const QAbstractItemModel* model, int row)
{
    return model->index(row, 0).data(Qt::ForegroundRole) == staleForeground();
}

int sourceRow(const QTableView* view, int column, const QString& text, int brokerColumn = -1,
              const QString& broker = {})
{
    const QAbstractItemModel* model = view->model();
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->index(row, column).data().toString() == text &&
            (brokerColumn < 0 || model->index(row, brokerColumn).data().toString() == broker)) {
            return row;
        }
    }
    return -1;
}

} // namespace

class TestBrokerFleet : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void mergedPercentilesAreThoseOfAllCalls_data();
    void mergedPercentilesAreThoseOfAllCalls();
    void oneBrokerIsShownAsItReports();
    void olderBrokerIsShownApartAndMarked();
    void totalsAreSummedFieldByField();
    void brokerDownCountsNoMore();
    void twoBrokersInOneWindow();
    void brokerGoesDownAndComesBack();
    void evictionGoesToTheWorkersBroker();
};

void TestBrokerFleet::mergedPercentilesAreThoseOfAllCalls_data()
{
    QTest::addColumn<std::vector<std::uint64_t>>("first");
    QTest::addColumn<std::vector<std::uint64_t>>("second");
    QTest::newRow("fast and slow broker")
        << randomLatencies(1, 5000, 300) << randomLatencies(2, 500, 20'000);
    QTest::newRow("same load") << randomLatencies(3, 2000, 1000) << randomLatencies(4, 2000, 1000);
    QTest::newRow("one call beside thousands")
        << randomLatencies(5, 3000, 50) << std::vector<std::uint64_t>{7'000'000};
    QTest::newRow("exact small values")
        << std::vector<std::uint64_t>{1, 2, 3, 4, 5} << std::vector<std::uint64_t>{6, 7, 8, 9, 15};
    QTest::newRow("second idle") << randomLatencies(6, 100, 800) << std::vector<std::uint64_t>{};
}

void TestBrokerFleet::mergedPercentilesAreThoseOfAllCalls()
{
    QFETCH(std::vector<std::uint64_t>, first);
    QFETCH(std::vector<std::uint64_t>, second);
    LatencyHistogram all;
    for (const auto& part : {first, second}) {
        for (const std::uint64_t us : part) {
            all.record(us);
        }
    }
    BrokerSnapshot a;
    a.methods = {served(QStringLiteral("s"), QStringLiteral("m"), first)};
    BrokerSnapshot b;
    b.methods = {served(QStringLiteral("s"), QStringLiteral("m"), second)};
    const FleetSnapshot fleet = combine({member(QStringLiteral("a"), a), member("b", b)});

    QCOMPARE(fleet.methods.size(), qsizetype{1});
    const MethodRow& row = fleet.methods.front();
    QCOMPARE(row.brokers, (QStringList{"a", "b"}));
    QVERIFY(!row.unmerged);
    QCOMPARE(row.window.total, all.summary());
    QCOMPARE(row.sinceStart.total, all.summary());
    QCOMPARE(row.calls, first.size() + second.size());
    // Averaging the percentiles would not give these (the reason for the histograms).
    if (first.size() > 1000 && second.size() > 100) {
        const std::uint64_t averaged =
            (a.methods[0].window.total.p99Us + b.methods[0].window.total.p99Us) / 2;
        QVERIFY(averaged != row.window.total.p99Us);
    }
}

void TestBrokerFleet::oneBrokerIsShownAsItReports()
{
    BrokerSnapshot only = brokerSnapshot(1, 0, randomLatencies(7, 500, 2000));
    only.methods[0].window.queueWait = {500, 10, 20, 30, 40};
    const FleetSnapshot fleet = combine({member(QStringLiteral("solo"), only)});
    QCOMPARE(fleet.combined, only);
    QCOMPARE(fleet.methods.size(), qsizetype{1});
    QCOMPARE(static_cast<const MethodStats&>(fleet.methods.front()), only.methods.front());

    // Of two brokers, a method only one serves is that broker's numbers unchanged too.
    BrokerSnapshot other = brokerSnapshot(2, 0, {});
    other.methods = {served(QStringLiteral("other"), QStringLiteral("m"), {100})};
    const FleetSnapshot two = combine({member("solo", only), member("other", other)});
    QCOMPARE(two.methods.size(), qsizetype{2});
    QCOMPARE(static_cast<const MethodStats&>(two.methods[0]), only.methods.front());
    QCOMPARE(two.methods[0].brokers, QStringList{"solo"});
}

void TestBrokerFleet::olderBrokerIsShownApartAndMarked()
{
    const auto newer = randomLatencies(8, 400, 1000);
    const auto older = randomLatencies(9, 400, 9000);
    BrokerSnapshot a;
    a.methods = {served(QStringLiteral("s"), QStringLiteral("m"), newer)};
    BrokerSnapshot b;
    b.methods = {served(QStringLiteral("s"), QStringLiteral("m"), older, false)};
    const FleetSnapshot fleet =
        combine({member(QStringLiteral("new"), a), member(QStringLiteral("old"), b)});
    QVERIFY(fleet.brokers[0].histograms);
    QVERIFY(!fleet.brokers[1].histograms);

    QCOMPARE(fleet.methods.size(), qsizetype{2});
    const auto unmerged = std::find_if(fleet.methods.begin(), fleet.methods.end(),
                                       [](const MethodRow& row) { return row.unmerged; });
    QVERIFY(unmerged != fleet.methods.end());
    QCOMPARE(unmerged->brokers, QStringList{"old"});
    QCOMPARE(unmerged->window.total, b.methods[0].window.total); // its own, as it reported them

    MethodTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.update(fleet);
    QCOMPARE(model.rowCount(), 2);
    int marked = 0;
    for (int row = 0; row < model.rowCount(); ++row) {
        if (model.index(row, 0).data(MethodTableModel::UnmergedRole).toBool()) {
            ++marked;
            QCOMPARE(model.index(row, MethodTableModel::Broker).data().toString(),
                     QStringLiteral("old, not merged"));
            QVERIFY(model.index(row, MethodTableModel::P99)
                        .data(Qt::ToolTipRole)
                        .toString()
                        .contains(QStringLiteral("older broker")));
        }
    }
    QCOMPARE(marked, 1);
}

void TestBrokerFleet::totalsAreSummedFieldByField()
{
    BrokerTotals sum;
    BrokerTotals part;
    part.requests = 5;
    part.requestsPerSecond = 1.5;
    part.requestsDiscarded = 2; // the last field: every one is visited
    addTotals(sum, part);
    addTotals(sum, part);
    QCOMPARE(sum.requests, std::uint64_t{10});
    QCOMPARE(sum.requestsPerSecond, 3.0);
    QCOMPARE(sum.requestsDiscarded, std::uint64_t{4});
}

void TestBrokerFleet::brokerDownCountsNoMore()
{
    const FleetSnapshot fleet =
        combine({member(QStringLiteral("a"), brokerSnapshot(1, 5, {100, 200})),
                 member(QStringLiteral("b"), brokerSnapshot(2, 5, {300}), false)});
    QCOMPARE(fleet.brokersUp, 1);
    QCOMPARE(fleet.combined.totals.requests,
             std::uint64_t{105}); // b's counts are history, not summed
    // b's rows stay, greyed; the merged method is a's alone.
    QCOMPARE(fleet.workers.size(), qsizetype{2});
    QVERIFY(!fleet.workers[0].brokerDown);
    QVERIFY(fleet.workers[1].brokerDown);
    QCOMPARE(fleet.methods.size(), qsizetype{1});
    QCOMPARE(fleet.methods[0].calls, std::uint64_t{2});
}

void TestBrokerFleet::twoBrokersInOneWindow()
{
    ScriptedBrokerLink first(QStringLiteral("tcp://10.0.0.5:5557"));
    ScriptedBrokerLink second(QStringLiteral("tcp://10.0.0.6:5557"));
    BrokerFleet fleet;
    fleet.addLink(first);
    fleet.addLink(second);
    MonitorWindow window(fleet);
    window.show();
    const auto fast = randomLatencies(10, 1000, 400);
    const auto slow = randomLatencies(11, 200, 30'000);
    first.deliver(brokerSnapshot(1, 0, fast));
    second.deliver(brokerSnapshot(2, 0, slow));

    QTableView* brokers = table(window, "brokersTable");
    QAbstractItemModelTester brokerTester(brokers->model(),
                                          QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(brokers->model()->rowCount(), 2);
    const int b1 = sourceRow(brokers, BrokerTableModel::Broker, "tcp://10.0.0.5:5557");
    QCOMPARE(brokers->model()->index(b1, BrokerTableModel::State).data().toString(), "up");
    QCOMPARE(brokers->model()->index(b1, BrokerTableModel::Version).data().toString(), "0.1.1");

    // Workers and services: one row per broker, with its name in the Broker column.
    QTableView* workers = table(window, "workersTable");
    QVERIFY(!workers->isColumnHidden(WorkerTableModel::Broker));
    QCOMPARE(workers->model()->rowCount(), 2);
    QCOMPARE(
        workers->model()
            ->index(sourceRow(workers, WorkerTableModel::Name, "echo-b"), WorkerTableModel::Broker)
            .data()
            .toString(),
        QStringLiteral("10.0.0.6")); // the port all share left out
    QTableView* services = table(window, "servicesTable");
    QCOMPARE(services->model()->rowCount(), 2);
    QVERIFY(sourceRow(services, ServiceTableModel::Name, "echo", ServiceTableModel::Broker,
                      "10.0.0.5") >= 0);

    // Methods: one merged row, its percentiles those of all calls.
    QTableView* methods = table(window, "methodsTable");
    QCOMPARE(methods->model()->rowCount(), 1);
    LatencyHistogram all;
    for (const auto& part : {fast, slow}) {
        for (const std::uint64_t us : part) {
            all.record(us);
        }
    }
    QCOMPARE(methods->model()->index(0, MethodTableModel::P99).data(Qt::UserRole).toULongLong(),
             all.summary().p99Us);
    QCOMPARE(methods->model()->index(0, MethodTableModel::Calls).data(Qt::UserRole).toULongLong(),
             fast.size() + slow.size());
    QCOMPARE(methods->model()->index(0, MethodTableModel::Broker).data().toString(),
             QStringLiteral("2 brokers"));

    // Totals: summed.
    QVERIFY2(label(window, "totals")->text().contains(QStringLiteral("requests 300")),
             qPrintable(label(window, "totals")->text()));
    QCOMPARE(label(window, "connectionState")->text(), QStringLiteral("All 2 brokers up"));
    QVERIFY(!window.isStale());

    // The filter narrows the tables of things, never the brokers.
    window.findChild<QLineEdit*>(QStringLiteral("filter"))->setText(QStringLiteral("echo-b"));
    QCOMPARE(workers->model()->rowCount(), 1);
    QCOMPARE(brokers->model()->rowCount(), 2);
}

void TestBrokerFleet::brokerGoesDownAndComesBack()
{
    ScriptedBrokerLink first(QStringLiteral("tcp://10.0.0.5:5557"));
    ScriptedBrokerLink second(QStringLiteral("tcp://10.0.0.6:5557"));
    BrokerFleet fleet;
    fleet.addLink(first);
    fleet.addLink(second);
    MonitorWindow window(fleet);
    window.show();
    QSignalSpy updates(&fleet, &BrokerFleet::updated);
    first.deliver(brokerSnapshot(1, 0, {100}));
    second.deliver(brokerSnapshot(2, 0, {200}));
    QCOMPARE(updates.count(), 2);

    QTableView* workers = table(window, "workersTable");
    QTableView* brokers = table(window, "brokersTable");
    const auto workerRow = [&](const char* name) {
        return sourceRow(workers, WorkerTableModel::Name, QString::fromLatin1(name));
    };
    const int b2 = sourceRow(brokers, BrokerTableModel::Broker, "tcp://10.0.0.6:5557");
    QVERIFY(!greyed(workers->model(), workerRow("echo-a")));
    QVERIFY(!greyed(workers->model(), workerRow("echo-b")));

    // The second goes down: its rows grey, the broker table says since when, the rest goes on.
    second.setState(BrokerLink::State::Disconnected);
    QVERIFY(greyed(workers->model(), workerRow("echo-b")));
    QVERIFY(!greyed(workers->model(), workerRow("echo-a")));
    QVERIFY(brokers->model()
                ->index(b2, BrokerTableModel::State)
                .data()
                .toString()
                .startsWith(QLatin1String("down since ")));
    QCOMPARE(label(window, "connectionState")->text(), QStringLiteral("1 of 2 brokers down"));
    QVERIFY(!window.isStale()); // one broker down is not the whole window
    BrokerSnapshot later = brokerSnapshot(1, 1, {100});
    later.workers[0].served = 42;
    first.deliver(later);
    QCOMPARE(workers->model()
                 ->index(workerRow("echo-a"), WorkerTableModel::Served)
                 .data(Qt::UserRole)
                 .toULongLong(),
             42u);
    QVERIFY(label(window, "totals")->text().contains(QStringLiteral("requests 101")));

    // Both down: the window as a whole is stale.
    first.setState(BrokerLink::State::Disconnected);
    QVERIFY(window.isStale());
    QVERIFY(window.findChild<QLabel*>(QStringLiteral("staleBanner"))->isVisible());

    // Back: connected, and live once each has reported again.
    first.setState(BrokerLink::State::Connected);
    second.setState(BrokerLink::State::Connected);
    QVERIFY(greyed(workers->model(), workerRow("echo-b"))); // nothing new from it yet
    first.deliver(brokerSnapshot(1, 2, {100}));
    second.deliver(brokerSnapshot(2, 2, {200}));
    QVERIFY(!greyed(workers->model(), workerRow("echo-a")));
    QVERIFY(!greyed(workers->model(), workerRow("echo-b")));
    QCOMPARE(brokers->model()->index(b2, BrokerTableModel::State).data().toString(), "up");
    QVERIFY(!window.isStale());
    QVERIFY(!window.findChild<QLabel*>(QStringLiteral("staleBanner"))->isVisible());
}

void TestBrokerFleet::evictionGoesToTheWorkersBroker()
{
    ScriptedBrokerLink first(QStringLiteral("tcp://10.0.0.5:5557"));
    ScriptedBrokerLink second(QStringLiteral("tcp://10.0.0.6:5557"));
    BrokerFleet fleet;
    fleet.addLink(first);
    fleet.addLink(second);
    MonitorWindow window(fleet);
    QStringList questions;
    window.setEvictionConfirmation([&](const QString& question) {
        questions << question;
        return true;
    });
    window.show();
    // The same identity on both brokers: only the Broker column tells them apart.
    BrokerSnapshot a = brokerSnapshot(1, 0, {});
    BrokerSnapshot b = brokerSnapshot(2, 0, {});
    a.workers = {worker("twin", "echo")};
    b.workers = {worker("twin", "echo")};
    first.deliver(a);
    second.deliver(b);

    QTableView* workers = table(window, "workersTable");
    QCOMPARE(workers->model()->rowCount(), 2);
    workers->selectRow(
        sourceRow(workers, WorkerTableModel::Name, "twin", WorkerTableModel::Broker, "10.0.0.6"));
    QVERIFY(window.evictAction()->isEnabled());
    window.evictAction()->trigger();
    QCOMPARE(questions.size(), qsizetype{1});
    QVERIFY2(questions[0].contains(QStringLiteral("tcp://10.0.0.6:5557")),
             qPrintable(questions[0]));
    QVERIFY(first.evictions().isEmpty());
    QCOMPARE(second.evictions(), QList<QByteArray>{"twin"});

    // The outcome names the broker.
    second.finishCommand(QStringLiteral("evict twin"), true);
    QVERIFY(window.statusBar()->currentMessage().contains(
        QStringLiteral("tcp://10.0.0.6:5557: evict twin: done")));

    // Not through a broker that is down.
    second.setState(BrokerLink::State::Disconnected);
    QVERIFY(!window.evictAction()->isEnabled());
}

QTEST_MAIN(TestBrokerFleet)
#include "tst_brokerfleet.moc"
