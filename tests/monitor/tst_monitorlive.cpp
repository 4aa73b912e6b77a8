// The monitor on a real broker: a TestBroker on its own thread, raw cppzmq MDP peers, and the
// window on a LocalBrokerLink (as `switchboard` runs it) or a RemoteBrokerLink over the admin
// endpoint (as `switchboard monitor --attach` does). What an operator checks: the worker that
// just started is listed, traffic shows up with believable latencies, evicting from the window
// really disconnects the worker, and a remote window shows what the broker holds.

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

QTEST_MAIN(TestMonitorLive)
#include "tst_monitorlive.moc"
