// MonitorWindow driven by a ScriptedBrokerLink: what the operator sees after each snapshot, what
// an eviction sends, how a lost link looks, and what the window remembers between runs.

#include "eventlogmodel.h"
#include "methodtablemodel.h"
#include "monitorwindow.h"
#include "scriptedbrokerlink.h"
#include "servicetablemodel.h"
#include "timeserieschart.h"
#include "timeseriesmodel.h"
#include "windowlookup.h"
#include "workertablemodel.h"

#include <QAction>
#include <QBrush>
#include <QDateTimeAxis>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QMessageBox>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QValueAxis>

using namespace switchboard;
using namespace switchboard::test;

namespace {

WorkerStats worker(const QString& name, const QString& service, WorkerStats::State state,
                   std::uint64_t served = 0)
{
    WorkerStats w;
    w.identity = QByteArray("\x00\x6b\x8b\x45", 4) + name.toLatin1(); // as ZeroMQ makes them
    w.name = name;
    w.service = service;
    w.state = state;
    w.served = served;
    w.livenessLeft = 3;
    w.protocol = QStringLiteral("MDPW02");
    w.peerAddress = QStringLiteral("127.0.0.1:4%1").arg(name.size());
    return w;
}

// calc with an idle and a busy worker, search with a late and an expired one.
BrokerSnapshot fourWorkers(std::uint64_t sequence = 1)
{
    BrokerSnapshot s;
    s.sequence = sequence;
    s.timeMs = 1'700'000'000'000 + static_cast<std::int64_t>(sequence) * 1000;
    s.uptimeMs = 2 * 3600'000 + 3 * 60'000 + static_cast<std::int64_t>(sequence) * 1000;
    s.version = QStringLiteral("0.1.0");
    s.frontendEndpoints = {QStringLiteral("tcp://*:5555")};
    s.backendEndpoints = {QStringLiteral("tcp://*:5556")};
    s.adminEndpoints = {QStringLiteral("tcp://127.0.0.1:5557")};
    s.liveness = 3;
    s.totals.requests = 123'456;
    s.totals.replies = 123'400;
    s.totals.errors = 56;

    s.workers = {worker("calc-1", "calc", WorkerStats::State::Idle, 10),
                 worker("calc-2", "calc", WorkerStats::State::Busy, 9),
                 worker("search-1", "search", WorkerStats::State::Late, 1200),
                 worker("search-2", "search", WorkerStats::State::Expired, 3)};
    s.workers[1].currentMethod = QStringLiteral("add");
    s.workers[1].busyForMs = 2100;

    ServiceStats calc;
    calc.name = QStringLiteral("calc");
    calc.idleWorkers = 1;
    calc.busyWorkers = 1;
    calc.queueDepth = 2;
    ServiceStats search;
    search.name = QStringLiteral("search");
    search.busyWorkers = 1;
    s.services = {calc, search};

    MethodStats add;
    add.service = QStringLiteral("calc");
    add.method = QStringLiteral("add");
    add.calls = 1000;
    add.callsPerSecond = 12.5;
    add.window.total = {100, 850, 12'345, 1'500'000, 2'000'000};
    MethodStats query;
    query.service = QStringLiteral("search");
    query.method = QStringLiteral("query");
    query.calls = 10;
    query.window.total = {10, 40'000, 90'000, 120'000, 130'000};
    s.methods = {add, query};

    s.events = {{1, s.timeMs - 500, BrokerEvent::Kind::WorkerExpired, QStringLiteral("search"),
                 QStringLiteral("search-2"), QStringLiteral("search-2 silent: purged")}};
    return s;
}

QString cell(const QTableView* view, int column, const QString& name, int nameColumn = 0)
{
    const int row = rowOf(view, nameColumn, name);
    return row < 0 ? QString() : view->model()->index(row, column).data().toString();
}

void selectWorker(const MonitorWindow& window, const QString& name)
{
    QTableView* workers = table(window, "workersTable");
    const int row = rowOf(workers, WorkerTableModel::Name, name);
    QVERIFY2(row >= 0, qPrintable(name));
    workers->selectRow(row);
}

} // namespace

class TestMonitorWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();

    void workerInSnapshotAppearsInTable();
    void methodsTableShowsPercentiles();
    void evictingSelectedWorkerAsksThenSendsItsIdentity();
    void decliningTheConfirmationEvictsNothing();
    void evictNeedsALiveWorkerAndALink();
    void failedCommandIsReported();
    void disconnectedLinkIsShownAndTablesGreyed();
    void silentBrokerMarksTheViewStale();
    void filterNarrowsEveryTable();
    void statusBarShowsBrokerFigures();
    void chartsDrawTheHistoryModels();
    void settingsRoundTrip();
    void firstRunTitleAndSize();

private:
    QTemporaryDir m_settingsDir;
};

void TestMonitorWindow::initTestCase()
{
    // Nothing from the developer's own monitor settings, nothing written to them.
    QVERIFY(m_settingsDir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QCoreApplication::setOrganizationName(QStringLiteral("switchboard-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_monitorwindow"));
}

void TestMonitorWindow::init()
{
    QSettings().clear();
}

void TestMonitorWindow::workerInSnapshotAppearsInTable()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    window.show();
    QTableView* workers = table(window, "workersTable");
    QCOMPARE(workers->model()->rowCount(), 0);

    link.deliver(fourWorkers());
    QCOMPARE(workers->model()->rowCount(), 4);
    QCOMPARE(cell(workers, WorkerTableModel::Service, "calc-2"), QStringLiteral("calc"));
    QCOMPARE(cell(workers, WorkerTableModel::State, "calc-2"), QStringLiteral("busy"));
    QCOMPARE(cell(workers, WorkerTableModel::Method, "calc-2"), QStringLiteral("add"));
    QCOMPARE(cell(workers, WorkerTableModel::BusyFor, "calc-2"), QStringLiteral("2.10 s"));
    QCOMPARE(cell(workers, WorkerTableModel::Peer, "calc-2"), QStringLiteral("127.0.0.1:46"));
    // The worst first by default: expired, then late.
    QCOMPARE(workers->model()->index(0, WorkerTableModel::Name).data().toString(),
             QStringLiteral("search-2"));
    QCOMPARE(workers->model()->index(1, WorkerTableModel::Name).data().toString(),
             QStringLiteral("search-1"));
    QCOMPARE(label(window, "workersTitle")->text(),
             QStringLiteral("Workers: 3 (1 busy, 1 late, 1 expired)"));
    QCOMPARE(
        cell(table(window, "eventsTable"), EventLogModel::Text, "search-2", EventLogModel::Worker),
        QStringLiteral("search-2 silent: purged"));
}

void TestMonitorWindow::methodsTableShowsPercentiles()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    link.deliver(fourWorkers());
    QTableView* methods = table(window, "methodsTable");
    const int row = rowOf(methods, MethodTableModel::Method, "add");
    QVERIFY(row >= 0);
    const auto text = [&](int column) {
        return methods->model()->index(row, column).data().toString();
    };
    QCOMPARE(text(MethodTableModel::Service), QStringLiteral("calc"));
    QCOMPARE(text(MethodTableModel::P50), QStringLiteral("850 µs"));
    QCOMPARE(text(MethodTableModel::P95), QStringLiteral("12.3 ms"));
    QCOMPARE(text(MethodTableModel::P99), QStringLiteral("1.50 s"));
    QCOMPARE(text(MethodTableModel::CallsPerSecond), QStringLiteral("12.5"));
    QCOMPARE(text(MethodTableModel::Calls), QStringLiteral("1,000"));
    // Slowest first by default: add (1.5 s) above query (120 ms), though "120 ms" > "1.50 s"
    // as text.
    QCOMPARE(row, 0);
}

void TestMonitorWindow::evictingSelectedWorkerAsksThenSendsItsIdentity()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    QStringList questions;
    window.setEvictionConfirmation([&](const QString& question) {
        questions << question;
        return true;
    });
    window.show();
    BrokerSnapshot snapshot = fourWorkers();
    link.deliver(snapshot);
    QVERIFY(!window.evictAction()->isEnabled()); // nothing selected

    selectWorker(window, "calc-2");
    QVERIFY(window.evictAction()->isEnabled());
    // The same action is the workers table's context menu.
    QTableView* workers = table(window, "workersTable");
    QCOMPARE(workers->contextMenuPolicy(), Qt::ActionsContextMenu);
    QVERIFY(workers->actions().contains(window.evictAction()));

    window.evictAction()->trigger();
    QCOMPARE(questions.size(), 1);
    QVERIFY2(questions[0].contains(QStringLiteral("Evict worker calc-2 of service calc?")),
             qPrintable(questions[0]));
    QVERIFY2(questions[0].contains(QStringLiteral("in-flight request (add, running for 2.10 s) "
                                                  "goes to another worker if the client marked "
                                                  "it idempotent, else it will fail with "
                                                  "WorkerLost")),
             qPrintable(questions[0]));
    QCOMPARE(link.evictions(), (QList<QByteArray>{snapshot.workers[1].identity}));
    QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("Evicting calc-2")));

    link.finishCommand(QStringLiteral("evict calc-2"), true);
    QCOMPARE(window.statusBar()->currentMessage(), QStringLiteral("evict calc-2: done"));

    // The broker's next snapshot no longer has it.
    snapshot = fourWorkers(2);
    snapshot.workers.removeAt(1);
    link.deliver(snapshot);
    QCOMPARE(rowOf(workers, WorkerTableModel::Name, "calc-2"), -1);
    QCOMPARE(workers->model()->rowCount(), 3);
    QVERIFY(!window.evictAction()->isEnabled());
}

void TestMonitorWindow::decliningTheConfirmationEvictsNothing()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    int asked = 0;
    window.setEvictionConfirmation([&](const QString&) {
        ++asked;
        return false;
    });
    link.deliver(fourWorkers());
    selectWorker(window, "calc-1");
    window.evictAction()->trigger();
    QCOMPARE(asked, 1);
    QVERIFY(link.evictions().isEmpty());
    QCOMPARE(window.statusBar()->currentMessage(), QStringLiteral("Eviction of calc-1 cancelled"));
}

void TestMonitorWindow::evictNeedsALiveWorkerAndALink()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    int asked = 0;
    window.setEvictionConfirmation([&](const QString&) {
        ++asked;
        return true;
    });
    link.deliver(fourWorkers());

    // An expired worker is already gone from the broker: nothing to evict.
    selectWorker(window, "search-2");
    QVERIFY(!window.evictAction()->isEnabled());
    window.evictAction()->trigger();

    // A late one can be evicted: that is what the operator usually wants to do with it.
    selectWorker(window, "search-1");
    QVERIFY(window.evictAction()->isEnabled());

    // ...but not without a link to send it through.
    link.setState(BrokerLink::State::Disconnected);
    QVERIFY(!window.evictAction()->isEnabled());
    window.evictAction()->trigger();
    QCOMPARE(asked, 0);
    QVERIFY(link.evictions().isEmpty());

    // A selected worker that expires in the next snapshot disables the action too.
    link.setState(BrokerLink::State::Connected);
    QVERIFY(window.evictAction()->isEnabled());
    BrokerSnapshot later = fourWorkers(2);
    later.workers[2].state = WorkerStats::State::Expired;
    link.deliver(later);
    QVERIFY(!window.evictAction()->isEnabled());
}

void TestMonitorWindow::failedCommandIsReported()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    window.show();
    link.finishCommand(QStringLiteral("evict calc-2"), false, QStringLiteral("no such worker"));
    QCOMPARE(window.statusBar()->currentMessage(),
             QStringLiteral("evict calc-2 failed: no such worker"));
    auto* dialog = window.findChild<QMessageBox*>(QStringLiteral("commandFailedDialog"));
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    QVERIFY(dialog->text().contains(QStringLiteral("no such worker")));
    dialog->accept();
}

void TestMonitorWindow::disconnectedLinkIsShownAndTablesGreyed()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    window.show();
    QLabel* state = label(window, "connectionState");
    QLabel* banner = label(window, "staleBanner");
    QTableView* workers = table(window, "workersTable");

    link.deliver(fourWorkers());
    QCOMPARE(state->text(), QStringLiteral("Connected to tcp://127.0.0.1:5557"));
    QVERIFY(!banner->isVisible());
    QVERIFY(!window.isStale());
    const QModelIndex calc1 =
        workers->model()->index(rowOf(workers, WorkerTableModel::Name, "calc-1"), 0);
    QVERIFY(!calc1.data(Qt::ForegroundRole).isValid());

    link.setState(BrokerLink::State::Disconnected);
    QCOMPARE(state->text(), QStringLiteral("Disconnected from tcp://127.0.0.1:5557, reconnecting"));
    QVERIFY(state->styleSheet().contains(QStringLiteral("#c62828"))); // red
    QVERIFY(banner->isVisible());
    QVERIFY2(banner->text().contains(QStringLiteral("Disconnected from tcp://127.0.0.1:5557")),
             qPrintable(banner->text()));
    QVERIFY(banner->text().contains(QStringLiteral("last snapshot received")));
    QVERIFY(window.isStale());
    // The rows stay, greyed.
    QCOMPARE(workers->model()->rowCount(), 4);
    QCOMPARE(calc1.data(Qt::ForegroundRole).value<QBrush>().color(), QColor(0x9e, 0x9e, 0x9e));

    link.setState(BrokerLink::State::Connecting);
    QCOMPARE(state->text(), QStringLiteral("Connecting to tcp://127.0.0.1:5557…"));
    link.setState(BrokerLink::State::Connected);
    QVERIFY(window.isStale()); // connected, but nothing new is known yet
    link.deliver(fourWorkers(2));
    QVERIFY(!window.isStale());
    QVERIFY(!banner->isVisible());
    QVERIFY(!calc1.data(Qt::ForegroundRole).isValid());
}

void TestMonitorWindow::silentBrokerMarksTheViewStale()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    window.show();
    window.setStaleAfterMs(100);
    link.deliver(fourWorkers());
    QVERIFY(!window.isStale());
    // Connected, but the snapshots stopped: a hung broker must not look healthy.
    QTRY_VERIFY_WITH_TIMEOUT(window.isStale(), 5000);
    QLabel* banner = label(window, "staleBanner");
    QVERIFY(banner->isVisible());
    QVERIFY2(banner->text().startsWith(QStringLiteral("No snapshot from tcp://127.0.0.1:5557")),
             qPrintable(banner->text()));
    link.deliver(fourWorkers(2));
    QVERIFY(!window.isStale());
}

void TestMonitorWindow::filterNarrowsEveryTable()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    link.deliver(fourWorkers());
    auto* filter = window.findChild<QLineEdit*>(QStringLiteral("filter"));
    QVERIFY(filter);
    QTest::keyClicks(filter, QStringLiteral("SEARCH"));
    QTableView* workers = table(window, "workersTable");
    QCOMPARE(workers->model()->rowCount(), 2);
    QVERIFY(rowOf(workers, WorkerTableModel::Name, "search-1") >= 0);
    QCOMPARE(table(window, "methodsTable")->model()->rowCount(), 1);
    QCOMPARE(table(window, "servicesTable")->model()->rowCount(), 1);
    QCOMPARE(table(window, "eventsTable")->model()->rowCount(), 1);

    // New rows obey the filter too.
    BrokerSnapshot more = fourWorkers(2);
    more.workers.push_back(worker("search-3", "search", WorkerStats::State::Idle));
    more.workers.push_back(worker("calc-3", "calc", WorkerStats::State::Idle));
    link.deliver(more);
    QCOMPARE(workers->model()->rowCount(), 3);

    filter->clear();
    QCOMPARE(workers->model()->rowCount(), 6);
}

void TestMonitorWindow::statusBarShowsBrokerFigures()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    link.deliver(fourWorkers());
    QCOMPARE(label(window, "endpoints")->text(),
             QStringLiteral("clients tcp://*:5555 · workers tcp://*:5556"));
    QVERIFY(label(window, "endpoints")->toolTip().contains(QStringLiteral("tcp://127.0.0.1:5557")));
    QCOMPARE(label(window, "uptime")->text(), QStringLiteral("up 2 h 03 min · broker 0.1.0"));
    const QString totals = label(window, "totals")->text();
    QVERIFY2(totals.contains(QStringLiteral("requests 123,456")), qPrintable(totals));
    QVERIFY2(totals.contains(QStringLiteral("replies 123,400")), qPrintable(totals));
    QVERIFY2(totals.contains(QStringLiteral("errors 56")), qPrintable(totals));
    QVERIFY2(totals.contains(QStringLiteral("workers 3")), qPrintable(totals)); // not the expired
    // Nobody is slow: nothing about held answers.
    auto* held = window.findChild<QLabel*>(QStringLiteral("heldBanner"));
    QVERIFY(held);
    QVERIFY(held->isHidden());

    // A client stops reading: the operator sees its answers pile up, then its refusals.
    BrokerSnapshot slow = fourWorkers(2);
    slow.totals.heldReplies = 1'500;
    slow.totals.heldReplyBytes = 6 * 1024 * 1024;
    slow.totals.slowClients = 2;
    slow.totals.clientsAtBound = 1;
    slow.totals.repliesHeld = 4'000;
    slow.totals.repliesDropped = 7;
    link.deliver(slow);
    QVERIFY(!held->isHidden());
    QCOMPARE(held->text(),
             QStringLiteral("1,500 answers (6.00 MiB) are held for 2 clients not reading; they go "
                            "out as soon as they read. 1 client at the bound of unread answers "
                            "(--max-held-per-client, --max-held-bytes) gets QueueFull for new "
                            "requests."));
    QVERIFY(label(window, "totals")->toolTip().contains(QStringLiteral("dropped (client gone) 7")));

    // They read them all: the banner goes away again.
    link.deliver(fourWorkers(3));
    QVERIFY(held->isHidden());
}

void TestMonitorWindow::chartsDrawTheHistoryModels()
{
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    auto* queue = window.findChild<TimeSeriesChart*>(QStringLiteral("queueDepthChart"));
    auto* latency = window.findChild<TimeSeriesChart*>(QStringLiteral("latencyChart"));
    QVERIFY(queue);
    QVERIFY(latency);

    // Six minutes of snapshots: more than the five kept. Halfway, search's queue outgrows
    // calc's in the latency ranking, and the methods change places.
    constexpr int kSnapshots = 360;
    for (int i = 1; i <= kSnapshots; ++i) {
        BrokerSnapshot snapshot = fourWorkers(static_cast<std::uint64_t>(i));
        snapshot.services[0].queueDepth = static_cast<std::uint64_t>(i % 7);
        if (i > kSnapshots / 2) {
            snapshot.methods[1].window.total.p99Us = 5'000'000;
        }
        link.deliver(snapshot);
        QCoreApplication::sendPostedEvents(); // what the event loop does between two snapshots
    }
    // Charts follow their models once the snapshot has been taken in, not in the middle of it.
    QTRY_COMPARE(queue->seriesNames(), (QStringList{"calc", "search"}));
    QLineSeries* calc = queue->series(QStringLiteral("calc"));
    QVERIFY(calc);
    // Five minutes at one a second, both ends included; the oldest trimmed from the chart too.
    QCOMPARE(calc->count(), 301);
    const BrokerSnapshot last = fourWorkers(kSnapshots);
    QCOMPARE(calc->at(300), QPointF(static_cast<double>(last.timeMs), kSnapshots % 7));
    QCOMPARE(calc->at(0).x(), static_cast<double>(last.timeMs - TimeSeriesModel::kDefaultSpanMs));
    QCOMPARE(queue->timeAxis()->max().toMSecsSinceEpoch(), last.timeMs);
    QCOMPARE(queue->valueAxis()->titleText(), QStringLiteral("requests queued"));
    QVERIFY(queue->valueAxis()->max() >= 6);

    QLineSeries* add = latency->series(QStringLiteral("calc.add"));
    QVERIFY(add);
    QCOMPARE(add->at(add->count() - 1).y(), 1500.0); // 1.5 s in ms
    QCOMPARE(latency->valueAxis()->titleText(), QStringLiteral("p99 latency (ms)"));
    QCOMPARE(latency->seriesNames(), (QStringList{"calc.add", "search.query"}));

    // Point for point, every line is its model's column: the chart cannot tell another story.
    const QList<TimeSeriesChart*> charts = window.findChildren<TimeSeriesChart*>();
    QCOMPARE(charts.size(), 3);
    for (const TimeSeriesChart* chart : charts) {
        const TimeSeriesModel* model = chart->model();
        for (const QString& name : chart->seriesNames()) {
            const QLineSeries* line = chart->series(name);
            const int column = model->columnOf(name);
            QCOMPARE(line->count(), model->rowCount());
            for (int row = 0; row < model->rowCount(); ++row) {
                QCOMPARE(line->at(row), QPointF(model->value(row, TimeSeriesModel::TimeColumn),
                                                model->value(row, column)));
            }
        }
    }
}

void TestMonitorWindow::settingsRoundTrip()
{
    QByteArray splitterState;
    {
        ScriptedBrokerLink link;
        MonitorWindow window(link);
        window.show();
        QHeaderView* header = table(window, "workersTable")->horizontalHeader();
        header->resizeSection(WorkerTableModel::Name, 211);
        header->moveSection(header->visualIndex(WorkerTableModel::Peer), 0);
        table(window, "workersTable")->sortByColumn(WorkerTableModel::Served, Qt::DescendingOrder);
        auto* splitter = window.findChild<QSplitter*>(QStringLiteral("workersSplitter"));
        QVERIFY(splitter);
        splitter->setSizes({500, 900});
        splitterState = splitter->saveState();
        window.resize(1100, 700);
        window.close(); // saves
    }
    ScriptedBrokerLink link;
    MonitorWindow window(link);
    window.show();
    QTableView* workers = table(window, "workersTable");
    QHeaderView* header = workers->horizontalHeader();
    QCOMPARE(header->sectionSize(WorkerTableModel::Name), 211);
    QCOMPARE(header->visualIndex(WorkerTableModel::Peer), 0);
    QCOMPARE(header->sortIndicatorSection(), static_cast<int>(WorkerTableModel::Served));
    QCOMPARE(header->sortIndicatorOrder(), Qt::DescendingOrder);
    QCOMPARE(window.findChild<QSplitter*>(QStringLiteral("workersSplitter"))->saveState(),
             splitterState);
    QCOMPARE(window.size(), QSize(1100, 700));

    // The restored sort is applied, not just drawn: most served first.
    link.deliver(fourWorkers());
    QCOMPARE(workers->model()->index(0, WorkerTableModel::Name).data().toString(),
             QStringLiteral("search-1"));
    // And new rows do not undo the restored widths.
    QCOMPARE(header->sectionSize(WorkerTableModel::Name), 211);
}

void TestMonitorWindow::firstRunTitleAndSize()
{
    ScriptedBrokerLink link(QStringLiteral("in-process broker"), BrokerLink::State::Connecting);
    MonitorWindow window(link);
    QCOMPARE(window.windowTitle(), QStringLiteral("Switchboard monitor – in-process broker"));
    QCOMPARE(window.size(), QSize(1400, 900));
    QCOMPARE(label(window, "connectionState")->text(),
             QStringLiteral("Connecting to in-process broker…"));
    window.show();
    QVERIFY(label(window, "staleBanner")->isVisible());
    QVERIFY(
        label(window, "staleBanner")->text().contains(QStringLiteral("No snapshot received yet")));
}

QTEST_MAIN(TestMonitorWindow)
#include "tst_monitorwindow.moc"
