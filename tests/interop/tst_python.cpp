// The Python examples (examples/python, pyzmq + msgpack, no Switchboard code) against the real
// `switchboard` executable: if these pass, a client or worker in any language that follows
// docs/PROTOCOL.md works with the broker, in both MDP versions and every mix of them.

#include "switchboardprocess.h"

#include <QDeadlineTimer>
#include <QDebug>
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTest>

#include <memory>

namespace {

const QString kSwitchboard = QStringLiteral(SWITCHBOARD_EXECUTABLE);
const QString kExamples = QStringLiteral(SWITCHBOARD_EXAMPLES_DIR);
const QString kPython = QStringLiteral(SWITCHBOARD_PYTHON);
const QString kWildcard = QStringLiteral("tcp://127.0.0.1:*");

struct ClientRun {
    bool finished = false;
    int exitCode = -1;
    QStringList out;
    QString err;
};

// The interpreter is chosen for its modules (python3-zmq, python3-msgpack): keep a caller's
// PYTHONPATH or PYTHONHOME, made for another interpreter, from shadowing them.
QProcessEnvironment pythonEnvironment()
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove(QStringLiteral("PYTHONPATH"));
    environment.remove(QStringLiteral("PYTHONHOME"));
    return environment;
}

QString script(const QString& name)
{
    return QDir(kExamples).filePath(name);
}

// One JSON value as printed by mdp_client.py; QJsonDocument only parses arrays and objects.
QJsonValue jsonValue(const QString& text)
{
    const QJsonArray wrapped = QJsonDocument::fromJson('[' + text.toUtf8() + ']').array();
    return wrapped.isEmpty() ? QJsonValue(QJsonValue::Undefined) : wrapped.first();
}

// Reads stdout of `process` until a line equal to `line`; false on exit or timeout.
bool waitForLine(QProcess& process, const QString& line, int timeoutMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    if (!process.waitForStarted(timeoutMs))
        return false;
    for (;;) {
        while (process.canReadLine()) {
            if (QString::fromUtf8(process.readLine()).trimmed() == line)
                return true;
        }
        if (process.state() != QProcess::Running || deadline.hasExpired())
            return false;
        process.waitForReadyRead(static_cast<int>(deadline.remainingTime()));
    }
}

} // namespace

class TstPython : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void cleanupTestCase();
    void calls_data();
    void calls();
    void unknownServiceIsUnavailable_data();
    void unknownServiceIsUnavailable();
    void workerSaysGoodbyeOnSigterm_data();
    void workerSaysGoodbyeOnSigterm();
    void workerReconnectsToRestartedBroker_data();
    void workerReconnectsToRestartedBroker();
    void slowReaderGetsEveryAnswer();

private:
    void stopAll();
    void startBroker(int heartbeatMs, const QString& backend = kWildcard,
                     const QStringList& extra = {});
    void startWorker(int mdpVersion, int heartbeatMs);
    ClientRun callClient(int mdpVersion, const QStringList& arguments, int timeoutMs = 5000);
    QString mmiService(const QString& name);

    std::unique_ptr<SwitchboardProcess> m_switchboard;
    std::unique_ptr<QProcess> m_worker;
    int m_workerMdp = 0;
};

void TstPython::initTestCase()
{
    QVERIFY2(QFile::exists(kSwitchboard), qPrintable(kSwitchboard));
    QVERIFY2(QFile::exists(script(QStringLiteral("mdp_worker.py"))), qPrintable(kExamples));

    QProcess probe;
    probe.setProcessEnvironment(pythonEnvironment());
    probe.start(kPython, {QStringLiteral("-c"), QStringLiteral("import zmq, msgpack")});
    const bool usable = probe.waitForFinished(30000) &&
                        probe.exitStatus() == QProcess::NormalExit && probe.exitCode() == 0;
    if (!usable) {
        // The last line of a Python traceback names the missing module.
        const QStringList errors =
            QString::fromUtf8(probe.readAllStandardError()).split('\n', Qt::SkipEmptyParts);
        const QString why =
            QStringLiteral("%1 cannot import zmq and msgpack (%2); install "
                           "python3-zmq and python3-msgpack, or configure with "
                           "-DSWITCHBOARD_PYTHON=<interpreter>")
                .arg(kPython, errors.isEmpty() ? probe.errorString() : errors.last().trimmed());
        QSKIP(qPrintable(why));
    }
}

void TstPython::init()
{
    if (QTest::currentTestFunction() != QLatin1String("calls"))
        stopAll(); // the broker and worker that the last rows of calls() left running
}

void TstPython::cleanup()
{
    // The rows of calls() share one broker and worker per worker version: a Python start-up
    // costs a fifth of a second. Any failure, or any other test, starts from nothing.
    if (QTest::currentTestFailed() || QTest::currentTestFunction() != QLatin1String("calls"))
        stopAll();
}

void TstPython::cleanupTestCase()
{
    stopAll();
}

void TstPython::stopAll()
{
    // Whatever happened in the test, nothing it started may outlive it.
    if (m_worker && m_worker->state() != QProcess::NotRunning) {
        m_worker->terminate();
        if (!m_worker->waitForFinished(3000))
            m_worker->kill();
        m_worker->waitForFinished(3000);
    }
    if (QTest::currentTestFailed() && m_worker)
        qWarning().noquote() << "worker stderr:" << m_worker->readAllStandardError();
    m_worker.reset();
    if (QTest::currentTestFailed() && m_switchboard)
        qWarning().noquote() << "switchboard stderr:" << m_switchboard->stderrText();
    m_switchboard.reset();
}

void TstPython::startBroker(int heartbeatMs, const QString& backend, const QStringList& extra)
{
    m_switchboard = std::make_unique<SwitchboardProcess>(kSwitchboard);
    // A repeated option takes its last value: `extra` may override these.
    m_switchboard->start(QStringList{"--no-gui", "--no-admin", "--frontend", kWildcard, "--backend",
                                     backend, "--heartbeat-ms", QString::number(heartbeatMs),
                                     "--request-timeout-ms", "300"} +
                         extra);
    QVERIFY2(m_switchboard->waitReady(), qPrintable(m_switchboard->stderrText()));
    QCOMPARE(m_switchboard->frontends().size(), 1);
    QCOMPARE(m_switchboard->backends().size(), 1);
}

// Heartbeats must match the broker's (RFC 7): each side judges the other by its own interval.
void TstPython::startWorker(int mdpVersion, int heartbeatMs)
{
    m_worker = std::make_unique<QProcess>();
    m_workerMdp = mdpVersion;
    m_worker->setProcessEnvironment(pythonEnvironment());
    m_worker->start(kPython,
                    {script(QStringLiteral("mdp_worker.py")), "--broker",
                     m_switchboard->backends().first(), "--mdp", QString::number(mdpVersion),
                     "--heartbeat-ms", QString::number(heartbeatMs)});
    QVERIFY2(waitForLine(*m_worker, QStringLiteral("worker ready"), 15000),
             qPrintable(m_worker->errorString() + QLatin1Char(' ') +
                        QString::fromUtf8(m_worker->readAllStandardError())));
    // "worker ready" means READY was sent, not that the broker has read it yet.
    QTRY_COMPARE_WITH_TIMEOUT(mmiService(QStringLiteral("calc")), QStringLiteral("200"), 15000);
}

ClientRun TstPython::callClient(int mdpVersion, const QStringList& arguments, int timeoutMs)
{
    QProcess client;
    client.setProcessEnvironment(pythonEnvironment());
    client.start(kPython, QStringList{script(QStringLiteral("mdp_client.py")), "--broker",
                                      m_switchboard->frontends().first(), "--mdp",
                                      QString::number(mdpVersion), "--timeout-ms",
                                      QString::number(timeoutMs)} +
                              arguments);
    ClientRun run;
    // Python's start-up on top of the client's own timeout.
    run.finished = client.waitForFinished(timeoutMs + 15000);
    if (!run.finished) {
        client.kill();
        client.waitForFinished();
    }
    run.exitCode = client.exitCode();
    run.out = QString::fromUtf8(client.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
    run.err = QString::fromUtf8(client.readAllStandardError()).trimmed();
    return run;
}

QString TstPython::mmiService(const QString& name)
{
    // MMI ignores the method; the client needs one all the same.
    const ClientRun run =
        callClient(2, {"mmi.service", "query", QStringLiteral("\"%1\"").arg(name)}, 2000);
    return run.exitCode == 0 && run.out.size() == 1 ? jsonValue(run.out.first()).toString()
                                                    : run.err;
}

void TstPython::calls_data()
{
    QTest::addColumn<int>("workerMdp");
    QTest::addColumn<int>("clientMdp");
    QTest::addColumn<QStringList>("call");   // service, method, JSON arguments
    QTest::addColumn<QStringList>("output"); // JSON lines on success
    QTest::addColumn<QString>("errorType");  // empty on success

    const QString nested = QStringLiteral(
        R"({"list": [1, -2, 3.5, "x", null, true], "map": {"k": [{"deep": "\u00fcber"}]}, "e": []})");
    for (const int worker : {2, 1}) {
        for (const int client : {2, 1}) {
            const auto row = [&](const char* what) -> QTestData& {
                return QTest::addRow("worker %d, client %d: %s", worker, client, what)
                       << worker << client;
            };
            row("add") << QStringList{"calc", "add", "2", "3"} << QStringList{"5"} << QString();
            row("echo nested") << QStringList{"calc", "echo", nested} << QStringList{nested}
                               << QString();
            row("divide") << QStringList{"calc", "divide", "7", "2"} << QStringList{"3.5"}
                          << QString();
            row("divide by zero") << QStringList{"calc", "divide", "1", "0"} << QStringList{}
                                  << "ZeroDivisionError";
            row("unknown method") << QStringList{"calc", "sqrt", "4"} << QStringList{}
                                  << "NoSuchMethod";
            row("wrong argument count")
                << QStringList{"calc", "add", "1"} << QStringList{} << "TypeError";
            // A stream needs 18/MDP end to end. A 7/MDP worker refuses it itself; a streaming
            // worker's PARTIAL cannot reach a 7/MDP client, and the broker says so.
            const bool streams = worker == 2 && client == 2;
            row("count 5") << QStringList{"calc", "count", "5"}
                           << (streams ? QStringList{"0", "1", "2", "3", "4"} : QStringList{})
                           << (streams ? QString() : QStringLiteral("StreamingUnsupported"));
            row("mmi.services") << QStringList{"mmi.services", "list"} << QStringList{R"(["calc"])"}
                                << QString();
            row("mmi.workers") << QStringList{"mmi.workers", "list"}
                               << QStringList{R"({"calc": 1})"} << QString();
        }
    }
}

void TstPython::calls()
{
    QFETCH(int, workerMdp);
    QFETCH(int, clientMdp);
    QFETCH(QStringList, call);
    QFETCH(QStringList, output);
    QFETCH(QString, errorType);

    if (!m_worker || m_worker->state() != QProcess::Running || m_workerMdp != workerMdp) {
        stopAll();
        startBroker(250);
        if (QTest::currentTestFailed())
            return;
        startWorker(workerMdp, 250);
        if (QTest::currentTestFailed())
            return;
    }

    const ClientRun run = callClient(clientMdp, call);
    QVERIFY2(run.finished, "mdp_client.py hung");
    if (errorType.isEmpty()) {
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QCOMPARE(run.out.size(), output.size());
        for (qsizetype i = 0; i < output.size(); ++i)
            QCOMPARE(jsonValue(run.out.at(i)), jsonValue(output.at(i)));
    } else {
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.startsWith(QStringLiteral("error: %1: ").arg(errorType)),
                 qPrintable(run.err));
        QCOMPARE(run.out, QStringList());
    }
}

void TstPython::unknownServiceIsUnavailable_data()
{
    QTest::addColumn<int>("clientMdp");
    QTest::newRow("18/MDP client") << 2;
    QTest::newRow("7/MDP client") << 1;
}

void TstPython::unknownServiceIsUnavailable()
{
    QFETCH(int, clientMdp);

    startBroker(250); // --request-timeout-ms 300
    if (QTest::currentTestFailed())
        return;
    const ClientRun run = callClient(clientMdp, {"nosuch", "anything", "1"});
    QVERIFY2(run.finished, "mdp_client.py hung");
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.startsWith(QLatin1String("error: ServiceUnavailable: ")), qPrintable(run.err));
}

void TstPython::workerSaysGoodbyeOnSigterm_data()
{
    QTest::addColumn<int>("workerMdp");
    QTest::newRow("18/MDP worker") << 2;
    QTest::newRow("7/MDP worker") << 1;
}

void TstPython::workerSaysGoodbyeOnSigterm()
{
    QFETCH(int, workerMdp);

    // With 10 s heartbeats the broker would need 30 s to notice a silent worker, so a prompt
    // "404" can only come from the worker's DISCONNECT.
    startBroker(10000);
    if (QTest::currentTestFailed())
        return;
    startWorker(workerMdp, 10000);
    if (QTest::currentTestFailed())
        return;

    m_worker->terminate();
    QVERIFY(m_worker->waitForFinished(5000));
    QCOMPARE(m_worker->exitStatus(), QProcess::NormalExit);
    QCOMPARE(m_worker->exitCode(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(mmiService(QStringLiteral("calc")), QStringLiteral("404"), 5000);
}

void TstPython::workerReconnectsToRestartedBroker_data()
{
    workerSaysGoodbyeOnSigterm_data();
}

void TstPython::workerReconnectsToRestartedBroker()
{
    QFETCH(int, workerMdp);

    startBroker(250);
    if (QTest::currentTestFailed())
        return;
    startWorker(workerMdp, 250);
    if (QTest::currentTestFailed())
        return;

    // A crash, not a shutdown: the worker gets no DISCONNECT and must notice the silence.
    const QString backend = m_switchboard->backends().first();
    m_switchboard->process().kill();
    QVERIFY(m_switchboard->process().waitForFinished(5000));
    startBroker(250, backend);
    if (QTest::currentTestFailed())
        return;

    QTRY_COMPARE_WITH_TIMEOUT(mmiService(QStringLiteral("calc")), QStringLiteral("200"), 15000);
    const ClientRun run = callClient(2, {"calc", "add", "2", "3"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QCOMPARE(run.out, QStringList{"5"});
}

// The example of a client that pauses: 5,000 answers of 8 KiB (40 MB) are more than libzmq's
// pipes and the kernel's buffers take, so the broker holds the rest until it reads. This used to
// lose about half of them at the broker's high-water mark.
void TstPython::slowReaderGetsEveryAnswer()
{
    startBroker(250, kWildcard, {"--request-timeout-ms", "60000"});
    if (QTest::currentTestFailed())
        return;
    startWorker(2, 250);
    if (QTest::currentTestFailed())
        return;
    QProcess reader;
    reader.setProcessEnvironment(pythonEnvironment());
    const QString text = QStringLiteral("\"%1\"").arg(QString(8192, QLatin1Char('x')));
    reader.start(kPython, {script(QStringLiteral("mdp_slow_reader.py")), "calc", "echo", text,
                           "--broker", m_switchboard->frontends().first(), "--count", "5000",
                           "--pause", "2", "--timeout-ms", "20000"});
    QVERIFY2(reader.waitForFinished(120000), "mdp_slow_reader.py hung");
    const QString out = QString::fromUtf8(reader.readAllStandardOutput()).trimmed();
    QVERIFY2(reader.exitCode() == 0,
             qPrintable(out + QLatin1Char(' ') + QString::fromUtf8(reader.readAllStandardError())));
    QCOMPARE(out, QStringLiteral("received 5000 of 5000: OK 5000"));
}

QTEST_GUILESS_MAIN(TstPython)
#include "tst_python.moc"
