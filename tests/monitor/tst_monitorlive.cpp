// The monitor on a real broker: a TestBroker on its own thread, raw cppzmq MDP peers, and the
// window on a LocalBrokerLink (as `switchboard` runs it) or a RemoteBrokerLink over the admin
// endpoint (as `switchboard monitor --attach` does). What an operator checks: the worker that
// just started is listed, traffic shows up with believable latencies, evicting from the window
// really disconnects the worker, and a remote window shows what the broker holds.

#include "brokerfleet.h"
#include "brokertablemodel.h"
#include "eventlogmodel.h"
#include "localbrokerlink.h"
#include "methodtablemodel.h"
#include "monitorwindow.h"
#include "rawpeer.h"
#include "rawworker.h"
#include "remotebrokerlink.h"
#include "servicetablemodel.h"
#include "testbroker.h"
#include "windowlookup.h"
#include "workertablemodel.h"

#include <switchboard/monitoring/latencyhistogram.h>

#include <QAction>
#include <QLabel>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QTest>

#include <chrono>
#include <memory>
#include <thread>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

constexpr int kTimeoutMs = 10000;

BrokerConfig fastConfig()
{
    BrokerConfig config;
    config.heartbeatInterval = 100ms;
    config.snapshotInterval = 100ms;
    return config;
}

QString cell(const QTableView* view, int row, int column)
{
    return view->model()->index(row, column).data().toString();
}

int methodRow(const QTableView* methods, const QString& service, const QString& method)
{
    for (int row = 0; row < methods->model()->rowCount(); ++row) {
        if (cell(methods, row, MethodTableModel::Service) == service &&
            cell(methods, row, MethodTableModel::Method) == method) {
            return row;
        }
    }
    return -1;
}

qint64 number(const QTableView* view, int row, int column)
{
    return view->model()->index(row, column).data(Qt::UserRole).toLongLong();
}

// Stable columns of a table as text, one string per row, sorted, for comparing two windows.
QStringList contents(const QTableView* view, std::initializer_list<int> columns)
{
    QStringList rows;
    for (int row = 0; row < view->model()->rowCount(); ++row) {
        QStringList cells;
        for (const int column : columns) {
            cells << cell(view, row, column);
        }
        rows << cells.join(QLatin1Char('|'));
    }
    rows.sort();
    return rows;
}

// An 18/MDP client that makes calls one after another and waits for each answer.
class CallingClient {
public:
    CallingClient(zmq::context_t& context, const std::string& frontend)
        : m_socket(context, zmq::socket_type::dealer)
    {
        m_socket.set(zmq::sockopt::linger, 0);
        m_socket.connect(frontend);
    }

    // True when every call was answered in time.
    bool call(const std::string& service, const std::string& method, int times)
    {
        for (int i = 0; i < times; ++i) {
            const std::string id = "id-" + std::to_string(++m_sent);
            const Message request = mdp02::request(service, {id, method, packArgs()});
            for (std::size_t f = 0; f < request.size(); ++f) {
                m_socket.send(zmq::buffer(request[f]), f + 1 < request.size()
                                                           ? zmq::send_flags::sndmore
                                                           : zmq::send_flags::none);
            }
            zmq::pollitem_t item{m_socket.handle(), 0, ZMQ_POLLIN, 0};
            if (zmq::poll(&item, 1, std::chrono::milliseconds(kTimeoutMs)) == 0) {
                return false;
            }
            std::vector<zmq::message_t> reply;
            if (!zmq::recv_multipart(m_socket, std::back_inserter(reply))) {
                return false;
            }
        }
        return true;
    }

private:
    zmq::socket_t m_socket;
    int m_sent = 0;
};

// Answers every request; "slow" after 20 ms of simulated work, anything else at once.
RawWorker::Handler answering()
{
    return [](const RawWorker::Request& request, RawWorker::Session& session) {
        if (request.method == "slow") {
            std::this_thread::sleep_for(20ms); // the work a real handler would do
        }
        session.final(request, pack(std::string("done")));
    };
}

} // namespace

class TestMonitorLive : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void workerThatConnectsAppears();
    void trafficFillsTheMethodsTable();
    void evictingFromTheWindowDisconnectsTheWorker();
    void remoteWindowShowsWhatTheBrokerHolds();
    void oneWindowOnTwoBrokers();
};

void TestMonitorLive::workerThatConnectsAppears()
{
    TestBroker broker(fastConfig());
    LocalBrokerLink link(*broker.broker());
    MonitorWindow window(link);
    window.show();
    QTableView* workers = table(window, "workersTable");
    QCOMPARE(workers->model()->rowCount(), 0);

    RawWorker worker(broker.context(), broker.backend(), "echo", answering());
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(workers, WorkerTableModel::Service, "echo") >= 0, kTimeoutMs);
    const int row = rowOf(workers, WorkerTableModel::Service, "echo");
    QCOMPARE(cell(workers, row, WorkerTableModel::State), QStringLiteral("idle"));
    QCOMPARE(cell(workers, row, WorkerTableModel::Protocol), QStringLiteral("MDPW02"));
    QCOMPARE(cell(workers, row, WorkerTableModel::Peer), QStringLiteral("127.0.0.1"));
    QTableView* services = table(window, "servicesTable");
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(services, ServiceTableModel::Name, "echo") >= 0, kTimeoutMs);
}

void TestMonitorLive::trafficFillsTheMethodsTable()
{
    TestBroker broker(fastConfig());
    LocalBrokerLink link(*broker.broker());
    MonitorWindow window(link);
    window.show();
    RawWorker worker(broker.context(), broker.backend(), "echo", answering());
    QTableView* workers = table(window, "workersTable");
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(workers, WorkerTableModel::Service, "echo") >= 0, kTimeoutMs);

    CallingClient client(broker.context(), broker.frontend());
    QVERIFY(client.call("echo", "slow", 20));
    QVERIFY(client.call("echo", "fast", 50));

    QTableView* methods = table(window, "methodsTable");
    QTRY_VERIFY_WITH_TIMEOUT(
        methodRow(methods, "echo", "slow") >= 0 && methodRow(methods, "echo", "fast") >= 0 &&
            number(methods, methodRow(methods, "echo", "fast"), MethodTableModel::Calls) == 50,
        kTimeoutMs);
    const int slow = methodRow(methods, "echo", "slow");
    const int fast = methodRow(methods, "echo", "fast");
    QCOMPARE(number(methods, slow, MethodTableModel::Calls), 20);
    QCOMPARE(number(methods, slow, MethodTableModel::Errors), 0);

    // 20 ms of work, one call at a time: the broker saw at least that, and not much more.
    const qint64 slowP50 = number(methods, slow, MethodTableModel::P50);
    const qint64 slowP99 = number(methods, slow, MethodTableModel::P99);
    const qint64 slowMax = number(methods, slow, MethodTableModel::Max);
    QVERIFY2(slowP50 >= 19'000 && slowP50 < 200'000, qPrintable(QString::number(slowP50)));
    QVERIFY(slowP50 <= slowP99 && slowP99 <= slowMax);
    const qint64 fastP50 = number(methods, fast, MethodTableModel::P50);
    QVERIFY2(fastP50 > 0 && fastP50 < slowP50,
             qPrintable(QStringLiteral("fast %1 µs, slow %2 µs").arg(fastP50).arg(slowP50)));
    QVERIFY2(cell(methods, slow, MethodTableModel::P50).endsWith(QLatin1String(" ms")),
             qPrintable(cell(methods, slow, MethodTableModel::P50)));

    QTableView* services = table(window, "servicesTable");
    const int echo = rowOf(services, ServiceTableModel::Name, "echo");
    QVERIFY(echo >= 0);
    QTRY_COMPARE_WITH_TIMEOUT(number(services, echo, ServiceTableModel::Requests), 70, kTimeoutMs);
}

void TestMonitorLive::evictingFromTheWindowDisconnectsTheWorker()
{
    TestBroker broker(fastConfig());
    LocalBrokerLink link(*broker.broker());
    MonitorWindow window(link);
    QStringList questions;
    window.setEvictionConfirmation([&](const QString& question) {
        questions << question;
        return true;
    });
    window.show();
    RawWorker worker(broker.context(), broker.backend(), "echo", answering());
    QTableView* workers = table(window, "workersTable");
    QTRY_VERIFY_WITH_TIMEOUT(rowOf(workers, WorkerTableModel::Service, "echo") >= 0, kTimeoutMs);
    const QString name =
        cell(workers, rowOf(workers, WorkerTableModel::Service, "echo"), WorkerTableModel::Name);

    workers->selectRow(rowOf(workers, WorkerTableModel::Name, name));
    QVERIFY(window.evictAction()->isEnabled());
    window.evictAction()->trigger();
    QCOMPARE(questions.size(), 1);
    QVERIFY2(questions[0].contains(name), qPrintable(questions[0]));

    // The worker hears DISCONNECT (and, being a worker, registers again under a new identity).
    QTRY_COMPARE_WITH_TIMEOUT(worker.disconnects(), 1, kTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(rowOf(workers, WorkerTableModel::Name, name), -1, kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(
        window.statusBar()->currentMessage().contains(QStringLiteral("evict %1: done").arg(name)),
        kTimeoutMs);
    QTableView* events = table(window, "eventsTable");
    QTRY_VERIFY_WITH_TIMEOUT(
        rowOf(events, EventLogModel::Kind, QStringLiteral("worker evicted")) >= 0, kTimeoutMs);
}

void TestMonitorLive::remoteWindowShowsWhatTheBrokerHolds()
{
    TestBroker broker(fastConfig(), TestBroker::Admin::Endpoint);
    LocalBrokerLink localLink(*broker.broker());
    MonitorWindow local(localLink);
    AdminClient::Options poll;
    poll.pollInterval = 100ms;
    poll.timeout = 1000ms;
    RemoteBrokerLink remoteLink(QString::fromStdString(broker.admin()), broker.context(), poll);
    MonitorWindow remote(remoteLink);
    local.show();
    remote.show();

    RawWorker first(broker.context(), broker.backend(), "echo", answering());
    RawWorker second(broker.context(), broker.backend(), "images", answering());
    CallingClient client(broker.context(), broker.frontend());
    QTRY_COMPARE_WITH_TIMEOUT(broker.snapshot().workers.size(), 2, kTimeoutMs);
    QVERIFY(client.call("echo", "slow", 5));
    QVERIFY(client.call("images", "fast", 12));

    // The remote window converges on the broker's own numbers, and on the local window's.
    const BrokerSnapshot truth = broker.snapshot();
    QTableView* remoteWorkers = table(remote, "workersTable");
    QTableView* remoteMethods = table(remote, "methodsTable");
    QTRY_COMPARE_WITH_TIMEOUT(remoteWorkers->model()->rowCount(), truth.workers.size(), kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(methodRow(remoteMethods, "images", "fast") >= 0 &&
                                 number(remoteMethods, methodRow(remoteMethods, "images", "fast"),
                                        MethodTableModel::Calls) == 12,
                             kTimeoutMs);
    for (const WorkerStats& worker : truth.workers) {
        const int row = rowOf(remoteWorkers, WorkerTableModel::Name, worker.name);
        QVERIFY2(row >= 0, qPrintable(worker.name));
        QCOMPARE(cell(remoteWorkers, row, WorkerTableModel::Service), worker.service);
        QCOMPARE(cell(remoteWorkers, row, WorkerTableModel::Peer), worker.peerAddress);
        QCOMPARE(number(remoteWorkers, row, WorkerTableModel::Served),
                 static_cast<qint64>(worker.served));
    }
    for (const MethodStats& method : truth.methods) {
        const int row = methodRow(remoteMethods, method.service, method.method);
        QVERIFY2(row >= 0, qPrintable(method.method));
        QCOMPARE(number(remoteMethods, row, MethodTableModel::Calls),
                 static_cast<qint64>(method.calls));
    }
    const auto stable = [](const MonitorWindow& window) {
        return contents(table(window, "workersTable"),
                        {WorkerTableModel::Name, WorkerTableModel::Service, WorkerTableModel::State,
                         WorkerTableModel::Served, WorkerTableModel::Errors, WorkerTableModel::Peer,
                         WorkerTableModel::Protocol}) +
               contents(table(window, "methodsTable"),
                        {MethodTableModel::Service, MethodTableModel::Method,
                         MethodTableModel::Calls, MethodTableModel::Errors}) +
               contents(table(window, "servicesTable"),
                        {ServiceTableModel::Name, ServiceTableModel::QueueDepth,
                         ServiceTableModel::IdleWorkers, ServiceTableModel::BusyWorkers,
                         ServiceTableModel::Requests});
    };
    QTRY_COMPARE_WITH_TIMEOUT(stable(remote), stable(local), kTimeoutMs);

    // The broker goes away: the remote window says so; it comes back: the window reconnects.
    auto* state = remote.findChild<QLabel*>(QStringLiteral("connectionState"));
    QVERIFY(state);
    QTRY_VERIFY_WITH_TIMEOUT(state->text().startsWith(QLatin1String("Connected")), kTimeoutMs);
    broker.stop();
    QTRY_VERIFY_WITH_TIMEOUT(state->text().startsWith(QLatin1String("Disconnected")), kTimeoutMs);
    QVERIFY(remote.isStale());
    broker.restart();
    QTRY_VERIFY_WITH_TIMEOUT(state->text().startsWith(QLatin1String("Connected")), kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!remote.isStale(), kTimeoutMs);
    // The workers register again with the new broker, and the remote window lists them (beside
    // the expired rows of connections that a reconnecting worker gave up on).
    const auto live = [&] {
        int count = 0;
        for (int row = 0; row < remoteWorkers->model()->rowCount(); ++row) {
            count += cell(remoteWorkers, row, WorkerTableModel::State) != "expired" ? 1 : 0;
        }
        return count;
    };
    QTRY_COMPARE_WITH_TIMEOUT(live(), 2, kTimeoutMs);
}

void TestMonitorLive::oneWindowOnTwoBrokers()
{
    TestBroker east(fastConfig(), TestBroker::Admin::Endpoint);
    TestBroker west(fastConfig(), TestBroker::Admin::Endpoint);
    AdminClient::Options poll;
    poll.pollInterval = 100ms;
    poll.timeout = 1000ms;
    const QString eastAdmin = QString::fromStdString(east.admin());
    const QString westAdmin = QString::fromStdString(west.admin());
    // How the Broker columns name them: both on 127.0.0.1, so without "tcp://" only.
    const QString eastLabel = eastAdmin.mid(6);
    const QString westLabel = westAdmin.mid(6);
    RemoteBrokerLink eastLink(eastAdmin, east.context(), poll);
    RemoteBrokerLink westLink(westAdmin, west.context(), poll);
    BrokerFleet fleet;
    fleet.addLink(eastLink);
    fleet.addLink(westLink);
    MonitorWindow window(fleet);
    window.show();

    RawWorker eastWorker(east.context(), east.backend(), "echo", answering());
    RawWorker westWorker(west.context(), west.backend(), "echo", answering());
    QTRY_COMPARE_WITH_TIMEOUT(east.snapshot().workers.size(), 1, kTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(west.snapshot().workers.size(), 1, kTimeoutMs);
    CallingClient eastClient(east.context(), east.frontend());
    CallingClient westClient(west.context(), west.frontend());
    QVERIFY(eastClient.call("echo", "slow", 5));
    QVERIFY(westClient.call("echo", "fast", 30));
    QVERIFY(westClient.call("echo", "slow", 2));

    // One row per broker for workers and services, with the broker's admin endpoint.
    QTableView* workers = table(window, "workersTable");
    QTableView* services = table(window, "servicesTable");
    QTableView* brokers = table(window, "brokersTable");
    QTRY_COMPARE_WITH_TIMEOUT(workers->model()->rowCount(), 2, kTimeoutMs);
    QStringList workerBrokers;
    for (int row = 0; row < 2; ++row) {
        workerBrokers << cell(workers, row, WorkerTableModel::Broker);
    }
    workerBrokers.sort();
    QStringList both{eastLabel, westLabel};
    both.sort();
    QCOMPARE(workerBrokers, both);
    QTRY_COMPARE_WITH_TIMEOUT(services->model()->rowCount(), 2, kTimeoutMs);
    QCOMPARE(brokers->model()->rowCount(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(cell(brokers, 0, BrokerTableModel::State) == "up" &&
                                 cell(brokers, 1, BrokerTableModel::State) == "up",
                             kTimeoutMs);

    // echo.slow: one row for both brokers' 7 calls, with the percentiles of their union.
    QTableView* methods = table(window, "methodsTable");
    QTRY_VERIFY_WITH_TIMEOUT(
        methodRow(methods, "echo", "slow") >= 0 &&
            number(methods, methodRow(methods, "echo", "slow"), MethodTableModel::Calls) == 7,
        kTimeoutMs);
    const auto merged = [&](const char* method) {
        LatencyHistogram all;
        for (const TestBroker* broker : {&east, &west}) {
            for (const MethodStats& stats : broker->snapshot().methods) {
                if (stats.method == QLatin1String(method)) {
                    all.merge(stats.windowTotalBuckets, stats.window.total.maxUs);
                }
            }
        }
        return all.summary();
    };
    QCOMPARE(merged("slow").count, std::uint64_t{7});
    QTRY_COMPARE_WITH_TIMEOUT(
        number(methods, methodRow(methods, "echo", "slow"), MethodTableModel::P99),
        static_cast<qint64>(merged("slow").p99Us), kTimeoutMs);
    QCOMPARE(number(methods, methodRow(methods, "echo", "slow"), MethodTableModel::Max),
             static_cast<qint64>(merged("slow").maxUs));
    QCOMPARE(cell(methods, methodRow(methods, "echo", "slow"), MethodTableModel::Broker),
             QStringLiteral("2 brokers"));
    // echo.fast only west serves: west's own numbers, and its name.
    QCOMPARE(cell(methods, methodRow(methods, "echo", "fast"), MethodTableModel::Broker),
             westLabel);

    // West goes down: its rows grey, the rest keeps updating.
    const auto westRowsGreyed = [&] {
        for (int row = 0; row < workers->model()->rowCount(); ++row) {
            if (cell(workers, row, WorkerTableModel::Broker) == westLabel &&
                workers->model()->index(row, 0).data(Qt::ForegroundRole) != staleForeground()) {
                return false;
            }
        }
        return true;
    };
    QVERIFY(!westRowsGreyed());
    west.stop();
    QTRY_VERIFY_WITH_TIMEOUT(westRowsGreyed(), kTimeoutMs);
    const int westRow = rowOf(brokers, BrokerTableModel::Broker, westAdmin);
    QVERIFY(cell(brokers, westRow, BrokerTableModel::State).startsWith(QLatin1String("down")));
    QVERIFY(!window.isStale());
    QVERIFY(eastClient.call("echo", "slow", 1));
    QTRY_COMPARE_WITH_TIMEOUT(
        number(methods, methodRow(methods, "echo", "slow"), MethodTableModel::Calls), 6,
        kTimeoutMs); // east's alone: west's are history while it is down

    // West comes back: live again.
    west.restart();
    QTRY_COMPARE_WITH_TIMEOUT(cell(brokers, westRow, BrokerTableModel::State), QStringLiteral("up"),
                              kTimeoutMs);
    // Its worker registers again with the new broker, and its rows are live.
    QTRY_VERIFY_WITH_TIMEOUT(
        rowOf(workers, WorkerTableModel::Broker, westLabel) >= 0 && !westRowsGreyed(), kTimeoutMs);
}

QTEST_MAIN(TestMonitorLive)
#include "tst_monitorlive.moc"
