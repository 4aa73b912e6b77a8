// The monitor's models fed sequences of snapshots, each under QAbstractItemModelTester: rows
// appear, change and go away by diff, never by reset, and show what an operator reads.

#include "brokerhistory.h"
#include "eventlogmodel.h"
#include "methodtablemodel.h"
#include "servicetablemodel.h"
#include "timeseriesmodel.h"
#include "units.h"
#include "workertablemodel.h"

#include <QAbstractItemModelTester>
#include <QBrush>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTest>

using namespace switchboard;

Q_DECLARE_METATYPE(WorkerStats::State)

namespace {

WorkerStats worker(const QString& name, const QString& service,
                   WorkerStats::State state = WorkerStats::State::Idle, std::uint64_t served = 0)
{
    WorkerStats w;
    w.identity = name.toLatin1() + QByteArray("\x00\x01", 2); // routing ids are bytes, not text
    w.name = name;
    w.service = service;
    w.state = state;
    w.served = served;
    w.protocol = QStringLiteral("MDPW02");
    w.livenessLeft = 3;
    return w;
}

ServiceStats service(const QString& name, std::uint64_t queueDepth = 0, std::uint64_t idle = 1)
{
    ServiceStats s;
    s.name = name;
    s.queueDepth = queueDepth;
    s.idleWorkers = idle;
    return s;
}

MethodStats method(const QString& service, const QString& name, std::uint64_t p50Us = 0,
                   std::uint64_t p95Us = 0, std::uint64_t p99Us = 0, double callsPerSecond = 0)
{
    MethodStats m;
    m.service = service;
    m.method = name;
    m.callsPerSecond = callsPerSecond;
    m.window.total = {p50Us > 0 ? 100u : 0u, p50Us, p95Us, p99Us, p99Us};
    return m;
}

BrokerEvent brokerEvent(std::uint64_t sequence, const QString& text = {})
{
    return {sequence,
            1'700'000'000'000 + static_cast<std::int64_t>(sequence) * 1000,
            BrokerEvent::Kind::WorkerJoined,
            QStringLiteral("calc"),
            QStringLiteral("w1"),
            text};
}

// Every structural signal of a model, so a test can say exactly which ones a snapshot caused.
struct ModelSignals {
    explicit ModelSignals(QAbstractItemModel* model)
        : inserted(model, &QAbstractItemModel::rowsInserted)
        , removed(model, &QAbstractItemModel::rowsRemoved)
        , changed(model, &QAbstractItemModel::dataChanged)
        , reset(model, &QAbstractItemModel::modelReset)
        , layout(model, &QAbstractItemModel::layoutChanged)
    {}

    void clear()
    {
        inserted.clear();
        removed.clear();
        changed.clear();
        reset.clear();
        layout.clear();
    }

    // (first, last) of each rowsInserted / rowsRemoved / dataChanged signal.
    static QList<QPair<int, int>> rows(const QSignalSpy& spy)
    {
        QList<QPair<int, int>> result;
        for (const QList<QVariant>& args : spy) {
            if (args.at(0).canConvert<QModelIndex>() && args.at(1).canConvert<QModelIndex>() &&
                args.at(0).value<QModelIndex>().isValid()) {
                result.push_back(
                    {args.at(0).value<QModelIndex>().row(), args.at(1).value<QModelIndex>().row()});
            } else {
                result.push_back({args.at(1).toInt(), args.at(2).toInt()});
            }
        }
        return result;
    }

    QSignalSpy inserted;
    QSignalSpy removed;
    QSignalSpy changed;
    QSignalSpy reset;
    QSignalSpy layout;
};

using Rows = QList<QPair<int, int>>;

int rowOf(const QAbstractItemModel& model, int column, const QString& text)
{
    for (int row = 0; row < model.rowCount(); ++row) {
        if (model.index(row, column).data().toString() == text) {
            return row;
        }
    }
    return -1;
}

} // namespace

class TestMonitorModels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void humanUnits_data();
    void humanUnits();
    void workersAppearChangeAndDisappear();
    void workerStateTextAndColour_data();
    void workerStateTextAndColour();
    void workersSortByNumberNotText();
    void servicesFollowSnapshots();
    void starvedServiceIsMarked();
    void methodsAreKeyedByServiceAndMethod();
    void methodPercentilesInHumanUnits();
    void staleRowsAreGreyed();
    void eventLogAppendsOnlyNewEvents();
    void eventLogIsBounded();
    void eventLogFollowsBrokerRestart();
    void timeSeriesAppendsAndTrimsOldRows();
    void timeSeriesAddsAndDropsSeries();
    void timeSeriesRestartsWhenTimeGoesBack();
    void timeSeriesRanksLargestSeries();
    void historyFeedsOneSeriesPerServiceAndMethod();
};

void TestMonitorModels::humanUnits_data()
{
    QTest::addColumn<QString>("actual");
    QTest::addColumn<QString>("expected");
    QTest::newRow("µs") << units::fromMicroseconds(850) << QStringLiteral("850 µs");
    QTest::newRow("ms") << units::fromMicroseconds(12'345) << QStringLiteral("12.3 ms");
    QTest::newRow("ms, never 1000") << units::fromMicroseconds(999'999) << QStringLiteral("999 ms");
    QTest::newRow("s") << units::fromMicroseconds(1'500'000) << QStringLiteral("1.50 s");
    QTest::newRow("age ms") << units::fromMilliseconds(350) << QStringLiteral("350 ms");
    QTest::newRow("age s") << units::fromMilliseconds(2100) << QStringLiteral("2.10 s");
    QTest::newRow("age minutes") << units::fromMilliseconds(185'000)
                                 << QStringLiteral("3 min 05 s");
    QTest::newRow("negative age") << units::fromMilliseconds(-5) << QStringLiteral("0 ms");
    QTest::newRow("uptime hours") << units::span(2 * 3600'000 + 3 * 60'000)
                                  << QStringLiteral("2 h 03 min");
    QTest::newRow("uptime days") << units::span(4 * 86'400'000LL + 2 * 3600'000)
                                 << QStringLiteral("4 d 02 h");
    QTest::newRow("rate") << units::rate(12.54) << QStringLiteral("12.5");
    QTest::newRow("small rate") << units::rate(0.25) << QStringLiteral("0.25");
    QTest::newRow("large rate") << units::rate(12'500.4) << QStringLiteral("12,500");
    QTest::newRow("count") << units::count(1'234'567) << QStringLiteral("1,234,567");
    QTest::newRow("small count") << units::count(999) << QStringLiteral("999");
    QTest::newRow("bytes") << units::bytes(512) << QStringLiteral("512 B");
    QTest::newRow("kibibytes") << units::bytes(12'700) << QStringLiteral("12.4 KiB");
    QTest::newRow("mebibytes") << units::bytes(std::uint64_t{64} << 20)
                               << QStringLiteral("64.0 MiB");
    QTest::newRow("gibibytes") << units::bytes(std::uint64_t{3} << 29)
                               << QStringLiteral("1.50 GiB");
}

void TestMonitorModels::humanUnits()
{
    QFETCH(QString, actual);
    QFETCH(QString, expected);
    QCOMPARE(actual, expected);
}

void TestMonitorModels::workersAppearChangeAndDisappear()
{
    WorkerTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ModelSignals spies(&model);

    BrokerSnapshot snapshot;
    snapshot.liveness = 3;
    snapshot.workers = {worker("w1", "calc"), worker("w2", "calc")};
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.inserted), (Rows{{0, 1}}));
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.index(1, WorkerTableModel::Name).data().toString(), QStringLiteral("w2"));
    QCOMPARE(model.index(1, WorkerTableModel::Service).data().toString(), QStringLiteral("calc"));
    QCOMPARE(model.index(1, WorkerTableModel::LivenessLeft).data().toString(),
             QStringLiteral("3 of 3"));
    QCOMPARE(model.index(1, WorkerTableModel::Name).data(WorkerTableModel::IdentityRole),
             QVariant(snapshot.workers[1].identity));

    // w2 takes a request; w1 is untouched and must not be reported as changed.
    spies.clear();
    snapshot.workers[1].state = WorkerStats::State::Busy;
    snapshot.workers[1].currentMethod = QStringLiteral("add");
    snapshot.workers[1].busyForMs = 1500;
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.changed), (Rows{{1, 1}}));
    QCOMPARE(spies.inserted.size(), 0);
    QCOMPARE(spies.removed.size(), 0);
    QCOMPARE(spies.reset.size(), 0);
    QCOMPARE(model.index(1, WorkerTableModel::Method).data().toString(), QStringLiteral("add"));
    QCOMPARE(model.index(1, WorkerTableModel::BusyFor).data().toString(), QStringLiteral("1.50 s"));

    // The same snapshot again: nothing to say.
    spies.clear();
    model.update(snapshot);
    QCOMPARE(spies.changed.size(), 0);

    // w1 leaves, w3 joins: one removal, one insertion, w2 untouched.
    spies.clear();
    snapshot.workers = {snapshot.workers[1], worker("w3", "search")};
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.removed), (Rows{{0, 0}}));
    QCOMPARE(ModelSignals::rows(spies.inserted), (Rows{{1, 1}}));
    QCOMPARE(spies.changed.size(), 0);
    QCOMPARE(spies.reset.size(), 0);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(rowOf(model, WorkerTableModel::Name, QStringLiteral("w1")), -1);
    QCOMPARE(rowOf(model, WorkerTableModel::Name, QStringLiteral("w3")), 1);

    // Everyone gone.
    spies.clear();
    model.update(BrokerSnapshot{});
    QCOMPARE(ModelSignals::rows(spies.removed), (Rows{{0, 1}}));
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(spies.reset.size(), 0);
}

void TestMonitorModels::workerStateTextAndColour_data()
{
    QTest::addColumn<WorkerStats::State>("state");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QColor>("colour");
    QTest::newRow("idle") << WorkerStats::State::Idle << "idle" << QColor(0xa5, 0xd6, 0xa7);
    QTest::newRow("busy") << WorkerStats::State::Busy << "busy" << QColor(0x90, 0xca, 0xf9);
    QTest::newRow("late") << WorkerStats::State::Late << "late" << QColor(0xff, 0xb7, 0x4d);
    QTest::newRow("expired") << WorkerStats::State::Expired << "expired"
                             << QColor(0xef, 0x53, 0x50);
}

void TestMonitorModels::workerStateTextAndColour()
{
    QFETCH(WorkerStats::State, state);
    QFETCH(QString, text);
    QFETCH(QColor, colour);

    WorkerTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    BrokerSnapshot snapshot;
    snapshot.workers = {worker("w1", "calc", state)};
    model.update(snapshot);

    const QModelIndex cell = model.index(0, WorkerTableModel::State);
    QCOMPARE(cell.data().toString(), text);
    QCOMPARE(cell.data(Qt::BackgroundRole).value<QBrush>().color(), colour);
    QCOMPARE(cell.data(WorkerTableModel::StateRole).toInt(), static_cast<int>(state));
    // Only the state cell is coloured: a whole coloured row would drown the numbers.
    QVERIFY(!model.index(0, WorkerTableModel::Served).data(Qt::BackgroundRole).isValid());
}

void TestMonitorModels::workersSortByNumberNotText()
{
    WorkerTableModel model;
    BrokerSnapshot snapshot;
    snapshot.workers = {worker("a", "calc", WorkerStats::State::Idle, 10),
                        worker("b", "calc", WorkerStats::State::Expired, 9),
                        worker("c", "calc", WorkerStats::State::Late, 1200)};
    snapshot.workers[0].lastSeenAgeMs = 900;  // "900 ms"
    snapshot.workers[1].lastSeenAgeMs = 2000; // "2.00 s"
    snapshot.workers[2].lastSeenAgeMs = 30;
    model.update(snapshot);
    QCOMPARE(model.index(0, WorkerTableModel::Served).data(WorkerTableModel::SortRole).metaType(),
             QMetaType::fromType<qulonglong>());

    QSortFilterProxyModel proxy;
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setSourceModel(&model);
    proxy.setSortRole(WorkerTableModel::SortRole);
    const auto order = [&](int column) {
        proxy.sort(column, Qt::AscendingOrder);
        QStringList names;
        for (int row = 0; row < proxy.rowCount(); ++row) {
            names << proxy.index(row, WorkerTableModel::Name).data().toString();
        }
        return names;
    };
    // As text: "1,200" < "10" < "9"; as numbers 9 < 10 < 1200.
    QCOMPARE(order(WorkerTableModel::Served), (QStringList{"b", "a", "c"}));
    // As text: "2.00 s" < "30 ms" < "900 ms".
    QCOMPARE(order(WorkerTableModel::HeartbeatAge), (QStringList{"c", "a", "b"}));
    // By severity, not alphabetically ("expired" < "idle" < "late").
    QCOMPARE(order(WorkerTableModel::State), (QStringList{"a", "c", "b"}));
}

void TestMonitorModels::servicesFollowSnapshots()
{
    ServiceTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ModelSignals spies(&model);

    BrokerSnapshot snapshot;
    snapshot.services = {service("billing"), service("calc"), service("search")};
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.inserted), (Rows{{0, 2}}));

    spies.clear();
    snapshot.services[2].queueDepth = 7;
    snapshot.services[2].requestsPerSecond = 12.5;
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.changed), (Rows{{2, 2}}));
    QCOMPARE(spies.reset.size(), 0);
    QCOMPARE(model.index(2, ServiceTableModel::QueueDepth).data().toString(), QStringLiteral("7"));
    QCOMPARE(model.index(2, ServiceTableModel::RequestsPerSecond).data().toString(),
             QStringLiteral("12.5"));
    QCOMPARE(model.index(2, ServiceTableModel::RequestsPerSecond).data(ServiceTableModel::SortRole),
             QVariant(12.5));

    // The broker forgot calc (no workers, no requests).
    spies.clear();
    snapshot.services.removeAt(1);
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.removed), (Rows{{1, 1}}));
    QCOMPARE(spies.changed.size(), 0);
    QCOMPARE(spies.inserted.size(), 0);
    QCOMPARE(rowOf(model, ServiceTableModel::Name, QStringLiteral("calc")), -1);
}

void TestMonitorModels::starvedServiceIsMarked()
{
    ServiceTableModel model;
    BrokerSnapshot snapshot;
    snapshot.services = {service("busy", 3, 0), service("starved", 3, 0), service("fine", 0, 1)};
    snapshot.services[0].busyWorkers = 2;
    model.update(snapshot);
    const auto queueColour = [&](int row) {
        return model.index(row, ServiceTableModel::QueueDepth)
            .data(Qt::BackgroundRole)
            .value<QBrush>()
            .color();
    };
    QCOMPARE(queueColour(0), QColor(0xff, 0xb7, 0x4d)); // a queue, being worked on: orange
    QCOMPARE(queueColour(1), QColor(0xef, 0x53, 0x50)); // a queue and nobody to serve it: red
    QVERIFY(!model.index(2, ServiceTableModel::QueueDepth).data(Qt::BackgroundRole).isValid());
    QVERIFY(model.index(1, ServiceTableModel::QueueDepth)
                .data(Qt::ToolTipRole)
                .toString()
                .contains(QStringLiteral("no worker")));
}

void TestMonitorModels::methodsAreKeyedByServiceAndMethod()
{
    MethodTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ModelSignals spies(&model);

    BrokerSnapshot snapshot;
    snapshot.methods = {method("a", "get"), method("b", "get"), method("b", "")};
    model.update(snapshot);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.index(2, MethodTableModel::Method).data().toString(),
             QStringLiteral("(no method)"));

    // The same method name in another service is another row.
    spies.clear();
    snapshot.methods[1].calls = 5;
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.changed), (Rows{{1, 1}}));
    QCOMPARE(model.index(1, MethodTableModel::Calls).data().toString(), QStringLiteral("5"));
    QCOMPARE(model.index(0, MethodTableModel::Calls).data().toString(), QStringLiteral("0"));

    spies.clear();
    snapshot.methods.removeAt(0);
    snapshot.methods.push_back(method("c", "get"));
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.removed), (Rows{{0, 0}}));
    QCOMPARE(ModelSignals::rows(spies.inserted), (Rows{{2, 2}}));
    QCOMPARE(spies.reset.size(), 0);
}

void TestMonitorModels::methodPercentilesInHumanUnits()
{
    MethodTableModel model;
    BrokerSnapshot snapshot;
    snapshot.methods = {method("calc", "add", 850, 12'345, 1'500'000, 42.25),
                        method("calc", "idle")};
    model.update(snapshot);
    QCOMPARE(model.index(0, MethodTableModel::P50).data().toString(), QStringLiteral("850 µs"));
    QCOMPARE(model.index(0, MethodTableModel::P95).data().toString(), QStringLiteral("12.3 ms"));
    QCOMPARE(model.index(0, MethodTableModel::P99).data().toString(), QStringLiteral("1.50 s"));
    QCOMPARE(model.index(0, MethodTableModel::CallsPerSecond).data().toString(),
             QStringLiteral("42.2"));
    QCOMPARE(model.index(0, MethodTableModel::P99).data(MethodTableModel::SortRole).toLongLong(),
             1'500'000);
    // No calls in the window: no latency, rather than a latency of zero, and it sorts below all.
    QCOMPARE(model.index(1, MethodTableModel::P99).data().toString(), QStringLiteral("–"));
    QCOMPARE(model.index(1, MethodTableModel::P99).data(MethodTableModel::SortRole).toLongLong(),
             -1);
    QVERIFY(model.index(0, MethodTableModel::P99)
                .data(Qt::ToolTipRole)
                .toString()
                .contains(QStringLiteral("queue wait")));
}

void TestMonitorModels::staleRowsAreGreyed()
{
    WorkerTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    BrokerSnapshot snapshot;
    snapshot.workers = {worker("w1", "calc"), worker("w2", "calc", WorkerStats::State::Late)};
    model.update(snapshot);
    QVERIFY(!model.index(0, WorkerTableModel::Name).data(Qt::ForegroundRole).isValid());

    ModelSignals spies(&model);
    model.setStale(true);
    QCOMPARE(ModelSignals::rows(spies.changed), (Rows{{0, 1}}));
    QCOMPARE(
        model.index(0, WorkerTableModel::Name).data(Qt::ForegroundRole).value<QBrush>().color(),
        QColor(0x9e, 0x9e, 0x9e));
    // A stale "idle" is not shown green: nobody knows it is still idle.
    QVERIFY(
        model.index(0, WorkerTableModel::State).data(Qt::BackgroundRole).value<QBrush>().color() !=
        WorkerTableModel::stateColor(WorkerStats::State::Idle));
    QCOMPARE(model.index(0, WorkerTableModel::State).data().toString(), QStringLiteral("idle"));

    model.setStale(false);
    QCOMPARE(
        model.index(0, WorkerTableModel::State).data(Qt::BackgroundRole).value<QBrush>().color(),
        WorkerTableModel::stateColor(WorkerStats::State::Idle));
}

void TestMonitorModels::eventLogAppendsOnlyNewEvents()
{
    EventLogModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ModelSignals spies(&model);

    BrokerSnapshot snapshot;
    snapshot.uptimeMs = 1000;
    snapshot.events = {brokerEvent(1, "first"), brokerEvent(2, "second")};
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.inserted), (Rows{{0, 1}}));

    // The ring repeats what it said; only 3 is new.
    spies.clear();
    snapshot.uptimeMs = 2000;
    snapshot.events = {brokerEvent(2, "second"), brokerEvent(3, "third")};
    model.update(snapshot);
    QCOMPARE(ModelSignals::rows(spies.inserted), (Rows{{2, 2}}));
    QCOMPARE(spies.changed.size(), 0);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.index(2, EventLogModel::Text).data().toString(), QStringLiteral("third"));
    QCOMPARE(model.index(2, EventLogModel::Kind).data().toString(),
             QStringLiteral("worker joined"));
    QCOMPARE(model.index(2, EventLogModel::Service).data().toString(), QStringLiteral("calc"));
    QCOMPARE(model.index(2, EventLogModel::Worker).data().toString(), QStringLiteral("w1"));
    QCOMPARE(
        model.index(2, EventLogModel::Time).data().toString(),
        QDateTime::fromMSecsSinceEpoch(brokerEvent(3).timeMs).toString(QStringLiteral("HH:mm:ss")));

    spies.clear();
    model.update(snapshot);
    QCOMPARE(spies.inserted.size(), 0);
}

void TestMonitorModels::eventLogIsBounded()
{
    EventLogModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setCapacity(5);
    ModelSignals spies(&model);

    BrokerSnapshot snapshot;
    for (std::uint64_t sequence = 1; sequence <= 4; ++sequence) {
        snapshot.events.push_back(brokerEvent(sequence));
    }
    model.update(snapshot);
    spies.clear();

    snapshot.events.clear();
    for (std::uint64_t sequence = 5; sequence <= 7; ++sequence) {
        snapshot.events.push_back(brokerEvent(sequence));
    }
    model.update(snapshot);
    // The two oldest go from the front, three new come at the back.
    QCOMPARE(ModelSignals::rows(spies.removed), (Rows{{0, 1}}));
    QCOMPARE(ModelSignals::rows(spies.inserted), (Rows{{2, 4}}));
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.index(0, 0).data(EventLogModel::SequenceRole).toULongLong(), 3u);
    QCOMPARE(model.index(4, 0).data(EventLogModel::SequenceRole).toULongLong(), 7u);

    // More new events than the capacity in one snapshot: the newest stay.
    snapshot.events.clear();
    for (std::uint64_t sequence = 8; sequence <= 20; ++sequence) {
        snapshot.events.push_back(brokerEvent(sequence));
    }
    model.update(snapshot);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.index(0, 0).data(EventLogModel::SequenceRole).toULongLong(), 16u);
    QCOMPARE(model.index(4, 0).data(EventLogModel::SequenceRole).toULongLong(), 20u);
}

void TestMonitorModels::eventLogFollowsBrokerRestart()
{
    EventLogModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    BrokerSnapshot snapshot;
    snapshot.uptimeMs = 60'000;
    snapshot.events = {brokerEvent(41), brokerEvent(42)};
    model.update(snapshot);

    // A restarted broker numbers its events from 1 again; they must not be taken as old.
    snapshot.uptimeMs = 1000;
    snapshot.events = {brokerEvent(1, "after restart")};
    model.update(snapshot);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.index(2, EventLogModel::Text).data().toString(),
             QStringLiteral("after restart"));
}

void TestMonitorModels::timeSeriesAppendsAndTrimsOldRows()
{
    TimeSeriesModel model(10'000);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ModelSignals spies(&model);

    for (int second = 0; second <= 10; ++second) {
        model.append(second * 1000, {{QStringLiteral("calc"), second * 2.0}});
    }
    QCOMPARE(model.rowCount(), 11); // 0 s .. 10 s: exactly the span
    QCOMPARE(spies.removed.size(), 0);
    QCOMPARE(model.index(10, TimeSeriesModel::TimeColumn).data().toDouble(), 10'000.0);
    QCOMPARE(model.index(10, model.columnOf(QStringLiteral("calc"))).data().toDouble(), 20.0);

    spies.clear();
    model.append(12'000, {{QStringLiteral("calc"), 1.0}});
    // 0 s and 1 s are older than 12 s - 10 s: trimmed at the front, in one removal.
    QCOMPARE(ModelSignals::rows(spies.inserted), (Rows{{11, 11}}));
    QCOMPARE(ModelSignals::rows(spies.removed), (Rows{{0, 1}}));
    QCOMPARE(spies.reset.size(), 0);
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(model.firstTimeMs(), 2000);
    QCOMPARE(model.lastTimeMs(), 12'000);

    // A repeated snapshot time adds nothing.
    model.append(12'000, {{QStringLiteral("calc"), 5.0}});
    QCOMPARE(model.rowCount(), 10);
}

void TestMonitorModels::timeSeriesAddsAndDropsSeries()
{
    TimeSeriesModel model(3000);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy columnsInserted(&model, &QAbstractItemModel::columnsInserted);
    QSignalSpy columnsRemoved(&model, &QAbstractItemModel::columnsRemoved);

    model.append(0, {{QStringLiteral("a"), 1}, {QStringLiteral("b"), 2}});
    QCOMPARE(model.columnCount(), 3);
    QCOMPARE(model.headerData(1, Qt::Horizontal).toString(), QStringLiteral("a"));
    QCOMPARE(model.headerData(2, Qt::Horizontal).toString(), QStringLiteral("b"));

    model.append(1000, {{QStringLiteral("b"), 3}, {QStringLiteral("c"), 4}});
    QCOMPARE(model.columnCount(), 4);
    // Absent is zero: a queue that is gone holds nothing; c did not exist at 0 s.
    QCOMPARE(model.value(1, model.columnOf(QStringLiteral("a"))), 0.0);
    QCOMPARE(model.value(0, model.columnOf(QStringLiteral("c"))), 0.0);
    QCOMPARE(model.value(1, model.columnOf(QStringLiteral("c"))), 4.0);

    // Once no row left has "a", its column goes.
    columnsRemoved.clear();
    model.append(2000, {{QStringLiteral("b"), 3}});
    QCOMPARE(model.columnOf(QStringLiteral("a")), 1);
    model.append(4000, {{QStringLiteral("b"), 3}});
    QCOMPARE(model.firstTimeMs(), 1000);
    QCOMPARE(model.columnOf(QStringLiteral("a")), -1);
    QCOMPARE(columnsRemoved.size(), 1);
    QCOMPARE(model.columnOf(QStringLiteral("b")), 1);
    QCOMPARE(model.value(0, 1), 3.0);
    QCOMPARE(model.columnCount(), 3);
}

void TestMonitorModels::timeSeriesRestartsWhenTimeGoesBack()
{
    TimeSeriesModel model(60'000);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.append(10'000, {{QStringLiteral("a"), 1}});
    model.append(11'000, {{QStringLiteral("a"), 2}});
    model.append(5000, {{QStringLiteral("a"), 3}});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.firstTimeMs(), 5000);
    QCOMPARE(model.value(0, 1), 3.0);
}

void TestMonitorModels::timeSeriesRanksLargestSeries()
{
    TimeSeriesModel model(60'000);
    model.append(0, {{QStringLiteral("quiet"), 0},
                     {QStringLiteral("busy"), 50},
                     {QStringLiteral("burst"), 0},
                     {QStringLiteral("steady"), 10}});
    model.append(1000, {{QStringLiteral("quiet"), 1},
                        {QStringLiteral("busy"), 50},
                        {QStringLiteral("burst"), 200},
                        {QStringLiteral("steady"), 10}});
    const auto names = [&](int n) {
        QStringList result;
        for (const int column : model.largestColumns(n)) {
            result << model.seriesName(column);
        }
        return result;
    };
    QCOMPARE(names(2), (QStringList{"burst", "busy"}));
    QCOMPARE(names(10), (QStringList{"burst", "busy", "steady", "quiet"}));
    QCOMPARE(model.maximum(model.largestColumns(2)), 200.0);
    QCOMPARE(model.maximum({model.columnOf(QStringLiteral("steady"))}), 10.0);
}

void TestMonitorModels::historyFeedsOneSeriesPerServiceAndMethod()
{
    BrokerHistory history;
    BrokerSnapshot snapshot;
    snapshot.timeMs = 1'700'000'000'000;
    snapshot.services = {service("calc", 4), service("search", 1)};
    snapshot.methods = {method("calc", "add", 500, 900, 2500, 12.0), method("search", "")};
    history.update(snapshot);

    TimeSeriesModel* depth = history.queueDepth();
    QCOMPARE(depth->rowCount(), 1);
    QCOMPARE(depth->value(0, depth->columnOf(QStringLiteral("calc"))), 4.0);
    QCOMPARE(depth->value(0, TimeSeriesModel::TimeColumn), 1.7e12);
    TimeSeriesModel* throughput = history.throughput();
    QCOMPARE(throughput->value(0, throughput->columnOf(QStringLiteral("calc.add"))), 12.0);
    QVERIFY(throughput->columnOf(QStringLiteral("search.(no method)")) >= 0);
    TimeSeriesModel* p99 = history.latencyP99();
    QCOMPARE(p99->value(0, p99->columnOf(QStringLiteral("calc.add"))), 2.5); // ms
    // No calls, no latency series.
    QCOMPARE(p99->columnOf(QStringLiteral("search.(no method)")), -1);
}

QTEST_MAIN(TestMonitorModels)
#include "tst_monitormodels.moc"
