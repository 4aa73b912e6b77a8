// The examples as a newcomer meets them: a broker (the real executable), the calculator and
// streaming workers and clients, the Python client calling the C++ worker, and the
// `switchboard call / services / describe` commands a person would type.

#include "switchboardprocess.h"

#include <QDeadlineTimer>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTest>

#include <memory>

namespace {

const QString kSwitchboard = QStringLiteral(SWITCHBOARD_EXECUTABLE);
const QString kWildcard = QStringLiteral("tcp://127.0.0.1:*");

struct Run {
    bool finished = false;
    int exitCode = -1;
    QStringList out; // stdout lines
    QString err;
};

Run runToEnd(const QString& program, const QStringList& arguments, int timeoutMs = 20000)
{
    QProcess process;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove(QStringLiteral("PYTHONPATH"));
    environment.remove(QStringLiteral("PYTHONHOME"));
    process.setProcessEnvironment(environment);
    process.start(program, arguments);
    Run run;
    run.finished = process.waitForFinished(timeoutMs);
    if (!run.finished) {
        process.kill();
        process.waitForFinished();
    }
    run.exitCode = process.exitCode();
    for (const QString& line : QString::fromUtf8(process.readAllStandardOutput()).split('\n')) {
        if (!line.isEmpty())
            run.out << line;
    }
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

// A long-running example worker, stopped with SIGTERM like an operator would.
class WorkerProcess {
public:
    WorkerProcess(const QString& program, const QStringList& arguments)
    {
        m_process.start(program, arguments);
    }
    ~WorkerProcess()
    {
        m_process.terminate();
        if (!m_process.waitForFinished(5000)) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }
    bool waitReady()
    {
        const QDeadlineTimer deadline(10000);
        while (!deadline.hasExpired() && m_process.state() != QProcess::NotRunning) {
            while (m_process.canReadLine()) {
                if (m_process.readLine().contains("ready"))
                    return true;
            }
            m_process.waitForReadyRead(static_cast<int>(deadline.remainingTime()));
        }
        return false;
    }
    QProcess& process() { return m_process; }

private:
    QProcess m_process;
};

} // namespace

class TestExamples : public QObject {
    Q_OBJECT

private slots:
    void init()
    {
        m_broker = std::make_unique<SwitchboardProcess>(kSwitchboard);
        m_broker->start({QStringLiteral("--no-gui"), QStringLiteral("--no-admin"),
                         QStringLiteral("--frontend"), kWildcard, QStringLiteral("--backend"),
                         kWildcard});
        QVERIFY2(m_broker->waitReady(), qPrintable(m_broker->stderrText()));
    }
    void cleanup() { m_broker.reset(); }

    void calculatorPrintsResultsThenTheRemoteError()
    {
        WorkerProcess worker(QStringLiteral(CALCULATOR_WORKER), {backend()});
        QVERIFY(worker.waitReady());
        const Run run = runToEnd(QStringLiteral(CALCULATOR_CLIENT), {frontend()});
        QVERIFY(run.finished);
        QCOMPARE(run.exitCode, 0);
        QCOMPARE(run.out, (QStringList{QStringLiteral("2"), QStringLiteral("4"),
                                       QStringLiteral("remote error std::domain_error: division "
                                                      "by zero")}));
    }

    void calculatorClientOnTwoBrokers()
    {
        // calculator_client BROKER BROKER: a worker on each, so whichever broker a call goes to
        // answers it.
        SwitchboardProcess second(kSwitchboard);
        second.start({QStringLiteral("--no-gui"), QStringLiteral("--no-admin"),
                      QStringLiteral("--frontend"), kWildcard, QStringLiteral("--backend"),
                      kWildcard});
        QVERIFY2(second.waitReady(), qPrintable(second.stderrText()));
        WorkerProcess worker(QStringLiteral(CALCULATOR_WORKER), {backend()});
        QVERIFY(worker.waitReady());
        WorkerProcess other(QStringLiteral(CALCULATOR_WORKER), {second.backends().value(0)});
        QVERIFY(other.waitReady());
        const Run run =
            runToEnd(QStringLiteral(CALCULATOR_CLIENT), {frontend(), second.frontends().value(0)});
        QVERIFY(run.finished);
        QCOMPARE(run.exitCode, 0);
        QCOMPARE(run.out, (QStringList{QStringLiteral("2"), QStringLiteral("4"),
                                       QStringLiteral("remote error std::domain_error: division "
                                                      "by zero")}));
    }

    void calculatorWithVerboseErrorsShowsWhereItFailed()
    {
        WorkerProcess worker(QStringLiteral(CALCULATOR_WORKER),
                             {QStringLiteral("--verbose-errors"), backend()});
        QVERIFY(worker.waitReady());
        const Run run = runToEnd(QStringLiteral(CALCULATOR_CLIENT), {frontend()});
        QCOMPARE(run.exitCode, 0);
        QVERIFY2(run.out.size() > 3, qPrintable(run.out.join('\n')));
        QCOMPARE(run.out.mid(0, 3),
                 (QStringList{QStringLiteral("2"), QStringLiteral("4"),
                              QStringLiteral("remote error std::domain_error: division by zero")}));
        const QString detail = run.out.mid(3).join('\n');
        QVERIFY2(detail.contains(QLatin1String("calc.divide")), qPrintable(detail));
        QVERIFY2(detail.contains(QLatin1String("std::domain_error")), qPrintable(detail));
        QVERIFY2(detail.contains(QString::number(worker.process().processId())),
                 qPrintable(detail)); // the worker's identity is host:pid
    }

    void streamingPrintsItemsInOrderThenTheMidStreamError()
    {
        WorkerProcess worker(QStringLiteral(STREAMING_WORKER), {backend()});
        QVERIFY(worker.waitReady());
        const Run run = runToEnd(QStringLiteral(STREAMING_CLIENT), {frontend()});
        QCOMPARE(run.exitCode, 0);
        QCOMPARE(run.out,
                 (QStringList{QStringLiteral("primes below 30: 2 3 5 7 11 13 17 19 23 29"),
                              QStringLiteral("countdown from 5, interrupted after 3: 5 4 3"),
                              QStringLiteral("stream ended with remote error std::runtime_error: "
                                             "countdown interrupted after 3 items")}));
    }

    void pythonClientCallsTheCppCalculator()
    {
        WorkerProcess worker(QStringLiteral(CALCULATOR_WORKER), {backend()});
        QVERIFY(worker.waitReady());
        const QString script = QStringLiteral(SWITCHBOARD_PYTHON_EXAMPLES "/mdp_client.py");
        const QString python = QStringLiteral(SWITCHBOARD_PYTHON);
        const Run ok = runToEnd(python, {script, QStringLiteral("--broker"), frontend(),
                                         QStringLiteral("calc"), QStringLiteral("add_one"),
                                         QStringLiteral("41")});
        if (ok.err.contains(QLatin1String("ModuleNotFoundError")))
            QSKIP("python3-zmq / python3-msgpack are not installed");
        QCOMPARE(ok.exitCode, 0);
        QCOMPARE(ok.out, QStringList{QStringLiteral("42")});
        const Run divide = runToEnd(python, {script, QStringLiteral("--broker"), frontend(),
                                             QStringLiteral("calc"), QStringLiteral("divide"),
                                             QStringLiteral("1"), QStringLiteral("4")});
        QCOMPARE(divide.out, QStringList{QStringLiteral("0.25")});
        const Run error = runToEnd(python, {script, QStringLiteral("--broker"), frontend(),
                                            QStringLiteral("calc"), QStringLiteral("divide"),
                                            QStringLiteral("1"), QStringLiteral("0")});
        QCOMPARE(error.exitCode, 1);
        QVERIFY2(error.err.contains(QLatin1String("std::domain_error: division by zero")),
                 qPrintable(error.err));
    }

    void callPrintsTheResultAsJson_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("out");
        QTest::addColumn<QString>("err");
        const auto call = [](QStringList rest) {
            return QStringList{QStringLiteral("call")} + rest;
        };
        QTest::newRow("int") << call({"calc", "add_one", "1"}) << 0 << "2"
                             << "";
        QTest::newRow("negative int is an argument, not an option")
            << call({"calc", "add_two", "-5"}) << 0 << "-3"
            << "";
        QTest::newRow("float") << call({"calc", "divide", "1", "8"}) << 0 << "0.125"
                               << "";
        QTest::newRow("remote error: exit 1, type and message")
            << call({"calc", "divide", "1", "0"}) << 1 << ""
            << "switchboard: calc.divide: std::domain_error: division by zero";
        QTest::newRow("wrong argument type: TypeError")
            << call({"calc", "add_one", "one"}) << 1 << ""
            << "switchboard: calc.add_one: TypeError: add_one() argument 1: expected int, got a "
               "string";
        QTest::newRow("wrong argument count: TypeError")
            << call({"calc", "add_one", "1", "2"}) << 1 << ""
            << "TypeError: add_one() takes 1";
        QTest::newRow("unknown method: exit 1") << call({"calc", "cube", "3"}) << 1 << ""
                                                << "NoSuchMethod";
        QTest::newRow("no worker for the service: exit 3")
            << call({"--timeout", "2000", "nosuch", "x"}) << 3 << ""
            << "nosuch.x";
        QTest::newRow("missing method: usage, exit 2")
            << call({"calc"}) << 2 << ""
            << "switchboard: missing METHOD (see switchboard call --help)";
        QTest::newRow("bad timeout: usage, exit 2")
            << call({"--timeout", "soon", "calc", "add_one", "1"}) << 2 << ""
            << "--timeout takes a whole number";
        QTest::newRow("bad broker endpoint: usage, exit 2")
            << QStringList{"call", "--broker", "nowhere", "calc", "add_one", "1"} << 2 << ""
            << "--broker 'nowhere' is not a ZeroMQ endpoint";
    }

    void callPrintsTheResultAsJson()
    {
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, out);
        QFETCH(QString, err);
        WorkerProcess worker(QStringLiteral(CALCULATOR_WORKER), {backend()});
        QVERIFY(worker.waitReady());
        // The --broker option goes right after the subcommand unless the row sets its own.
        if (!arguments.contains(QStringLiteral("--broker")))
            arguments.insert(1, QStringLiteral("--broker=") + frontend());
        const Run run = runToEnd(kSwitchboard, arguments);
        QVERIFY(run.finished);
        QCOMPARE(run.exitCode, exitCode);
        QCOMPARE(run.out.join('\n'), out);
        QVERIFY2(run.err.contains(err), qPrintable(run.err));
    }

    void servicesAndDescribe()
    {
        WorkerProcess worker(QStringLiteral(CALCULATOR_WORKER), {backend()});
        QVERIFY(worker.waitReady());
        // The worker may still be registering when it prints "ready": ask until it is listed.
        Run services;
        QTRY_VERIFY_WITH_TIMEOUT(
            (services = runToEnd(kSwitchboard, {"services", "--broker", frontend()}),
             services.out.size() == 2),
            10000);
        QCOMPARE(services.exitCode, 0);
        QCOMPARE(services.out.at(0).simplified(),
                 QStringLiteral("SERVICE WORKERS IN FLIGHT CAPACITY QUEUED"));
        QCOMPARE(services.out.at(1).simplified(), QStringLiteral("calc 1 0 1 0"));

        // Options may follow SERVICE here (only `call` passes what follows on to the method).
        const Run describe = runToEnd(kSwitchboard, {"describe", "calc", "--broker", frontend()});
        QCOMPARE(describe.exitCode, 0);
        QVERIFY2(describe.out.size() == 4, qPrintable(describe.out.join('\n')));
        QVERIFY(describe.out.at(0).startsWith(QLatin1String("calc (worker ")));
        QCOMPARE(describe.out.mid(1),
                 (QStringList{QStringLiteral("  add_one(int) -> int"),
                              QStringLiteral("  add_two(int) -> int"),
                              QStringLiteral("  divide(float, float) -> float")}));
    }

    void helpOfEachCommand_data()
    {
        QTest::addColumn<QString>("command");
        QTest::newRow("call") << "call";
        QTest::newRow("services") << "services";
        QTest::newRow("describe") << "describe";
    }
    void helpOfEachCommand()
    {
        QFETCH(QString, command);
        const Run run = runToEnd(kSwitchboard, {command, QStringLiteral("--help")});
        QCOMPARE(run.exitCode, 0);
        QVERIFY(run.out.first().startsWith(QStringLiteral("Usage: switchboard ") + command));
        QVERIFY(run.out.join('\n').contains(QLatin1String("Exit codes:")));
        QVERIFY(run.err.isEmpty());
    }

private:
    QString frontend() const { return m_broker->frontends().first(); }
    QString backend() const { return m_broker->backends().first(); }

    std::unique_ptr<SwitchboardProcess> m_broker;
};

QTEST_GUILESS_MAIN(TestExamples)
#include "tst_examples.moc"
