// The chaos test: every request ends, exactly once, in a reply or a typed error, while workers
// are killed and the broker restarts under load.
//
// A `switchboard --no-gui` child process (250 ms heartbeat x liveness 3, so that a dead worker
// is noticed within a second) serves 4 chaos_worker processes (service "chaos", method
// work(call_id, idempotent): 0-5 ms of work, returns call_id, logs every execution) and the 2
// clients of this process: one makes blocking calls from 8 threads, the other keeps 8
// asynchronous calls in flight. Together they make 20,000 calls, each with a unique id and a
// 5 s deadline, the even ids marked idempotent. Every 0.5 s a random worker is killed with
// SIGKILL and a fresh one started; as the middle call goes out, the broker is restarted on the
// ports it had, once per row:
//   SIGTERM  a deployment: the broker answers what it holds BrokerShutdown, says DISCONNECT to
//            its workers and exits 0;
//   SIGKILL  a crash: what it held vanishes, and clients and workers only see the connection
//            drop.
// Each row prints one line: sent, replied, typed errors by kind, lost (calls that ended in
// neither a reply nor a typed error), duplicates (a non-idempotent call executed twice, or a
// call answered twice), idempotent calls that failed, wrong values; then executions and the
// run's figures (workers killed, broker downtime, first reply after the restart, longest pause
// in replies, wall time, seed). It asserts that lost, duplicates, idempotent failures and wrong
// values are 0, and that no worker or broker crashed.
//
// Longer or different runs, through the environment:
//   CHAOS_REQUESTS=20000       calls in all
//   CHAOS_RESTARTS=1           broker restarts per row, at evenly spaced calls
//   CHAOS_KILL_INTERVAL_MS=500 one worker killed (and replaced) this often
//   CHAOS_WORKERS=4            worker processes
//   CHAOS_CONCURRENCY=8        calls in flight per client
//   CHAOS_DEADLINE_MS=5000     every call's deadline
//   CHAOS_CLIENT_RETRIES=<3>   ClientOptions::maxRetries (the library's default); 0 leaves
//                              recovery to the broker alone
//   CHAOS_SEED=<random>        which worker dies, how long each call works
// e.g. CHAOS_REQUESTS=500000 CHAOS_RESTARTS=20 build/dev/tests/chaos/tst_chaos chaos:SIGKILL
// for a soak of a quarter of an hour.

#include "chaosbroker.h"
#include "chaosload.h"
#include "chaosoptions.h"
#include "chaostally.h"
#include "looprelay.h"
#include "workerfleet.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const QString kSwitchboard = QStringLiteral(SWITCHBOARD_EXECUTABLE);
const QString kChaosWorker = QStringLiteral(CHAOS_WORKER);

// How long the run may go without a single call ending, beyond a call's deadline, before it
// counts as stalled: then the calls still open are lost.
constexpr auto kStallGrace = 10s;
// How long each worker may take to finish its request and say goodbye at the end.
constexpr auto kWorkerStopTimeout = 10s;

std::int64_t nanosecondsNow()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

// The times at which calls ended in a reply, sorted.
std::vector<std::int64_t> replyTimes(const ChaosLoad& load)
{
    std::vector<std::int64_t> times;
    times.reserve(static_cast<std::size_t>(load.requests()));
    for (std::int64_t id = 0; id < load.issued(); ++id) {
        const CallRecord& record = load.record(id);
        if (record.outcome.load() == CallRecord::kReplied) {
            times.push_back(record.endedNs.load());
        }
    }
    std::sort(times.begin(), times.end());
    return times;
}

QString milliseconds(std::int64_t nanoseconds)
{
    return QString::number(nanoseconds / 1'000'000);
}

} // namespace

class TestChaos : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void chaos_data();
    void chaos();

private:
    ChaosOptions m_options;
};

void TestChaos::initTestCase()
{
    QString error;
    const auto options = ChaosOptions::fromEnvironment(error);
    QVERIFY2(options, qPrintable(error));
    m_options = *options;
}

void TestChaos::chaos_data()
{
    QTest::addColumn<int>("stop");
    QTest::newRow("SIGTERM") << static_cast<int>(ChaosBroker::Stop::Terminate);
    QTest::newRow("SIGKILL") << static_cast<int>(ChaosBroker::Stop::Kill);
}

void TestChaos::chaos()
{
    QFETCH(int, stop);
    const auto how = static_cast<ChaosBroker::Stop>(stop);
    const ChaosOptions& options = m_options;
    QTemporaryDir directory;
    QVERIFY(directory.isValid());

    ChaosBroker broker(kSwitchboard, directory.filePath(QStringLiteral("broker.log")),
                       options.heartbeat, options.liveness);
    QVERIFY2(broker.start(), qPrintable(broker.problems().join(QLatin1Char('\n'))));
    WorkerFleet fleet({kChaosWorker,
                       {broker.backend()},
                       {},
                       directory.path(),
                       options.workers,
                       options.heartbeat,
                       options.liveness,
                       options.seed});
    QVERIFY2(fleet.start(), qPrintable(fleet.problems().join(QLatin1Char('\n'))));

    QEventLoop loop;
    // Shared with the functors the load keeps: client threads a stalled run leaves behind
    // still reach it (and find it closed) after this function has returned.
    const auto relay = std::make_shared<LoopRelay>(&loop);
    QStringList aborted;
    QStringList downtimes;
    std::vector<std::int64_t> restartedAt; // when each restarted broker was ready
    const auto abort = [&](const QString& why) {
        aborted << why;
        loop.quit();
    };

    ChaosLoad::Settings settings;
    settings.endpoints = {broker.frontend().toStdString()};
    settings.requests = options.requests;
    settings.concurrency = options.concurrency;
    settings.deadline = options.deadline;
    if (options.clientRetries) {
        settings.client.maxRetries = *options.clientRetries;
    }
    const int clientRetries = settings.client.maxRetries;
    for (int i = 1; i <= options.restarts; ++i) {
        settings.milestones.push_back(options.requests * i / (options.restarts + 1));
    }
    settings.onMilestone = [&, relay](std::size_t) {
        relay->post([&] {
            if (!broker.restart(how)) {
                abort(broker.problems().join(QLatin1Char('\n')));
                return;
            }
            restartedAt.push_back(nanosecondsNow());
            downtimes << QString::number(broker.downtime().count());
        });
    };
    settings.onFinished = [&, relay] { relay->post([&] { loop.quit(); }); };
    auto ownedLoad = std::make_unique<ChaosLoad>(std::move(settings));
    ChaosLoad& load = *ownedLoad;

    QTimer killer;
    killer.setInterval(options.killInterval);
    QObject::connect(&killer, &QTimer::timeout, &loop, [&] {
        if (!broker.isRunning()) {
            abort(QStringLiteral("the broker exited unasked; its log ends with: ") +
                  broker.logTail());
            return;
        }
        fleet.killOne();
    });
    QTimer watchdog;
    watchdog.setInterval(1s);
    std::int64_t lastEnded = -1;
    QElapsedTimer sinceProgress;
    QObject::connect(&watchdog, &QTimer::timeout, &loop, [&] {
        if (load.ended() != lastEnded) {
            lastEnded = load.ended();
            sinceProgress.start();
        } else if (std::chrono::milliseconds(sinceProgress.elapsed()) >
                   options.deadline + kStallGrace) {
            // Not an abort: the calls still open are what the lost count reports.
            qWarning().noquote() << QStringLiteral("stalled: no call ended for %1 s, %2 of %3 "
                                                   "ended")
                                        .arg(sinceProgress.elapsed() / 1000)
                                        .arg(load.ended())
                                        .arg(load.requests());
            loop.quit();
        }
    });

    QElapsedTimer wall;
    wall.start();
    sinceProgress.start();
    load.start();
    killer.start();
    watchdog.start();
    loop.exec();
    const auto wallMs = wall.elapsed();
    relay->close();
    killer.stop();
    watchdog.stop();
    if (load.ended() < load.requests()) {
        load.abandon();
        // Leaked with its records: the detached client threads may still write into them.
        (void)ownedLoad.release();
    }

    // Workers first: a request they still hold (a retry's spare copy) runs before the tally.
    const bool workersStopped = fleet.stop(kWorkerStopTimeout);
    const bool brokerStopped = broker.stop();
    const ChaosTally tally(load, fleet.logFiles());

    const std::vector<std::int64_t> replies = replyTimes(load);
    std::int64_t longestPause = 0;
    for (std::size_t i = 1; i < replies.size(); ++i) {
        longestPause = std::max(longestPause, replies[i] - replies[i - 1]);
    }
    QStringList recoveries;
    for (const std::int64_t ready : restartedAt) {
        const auto first = std::upper_bound(replies.begin(), replies.end(), ready);
        recoveries << (first == replies.end()
                           ? QStringLiteral("never")
                           : milliseconds(*first - ready) + QStringLiteral(" ms"));
    }
    qInfo().noquote()
        << QStringLiteral(
               "chaos: %1 | workers killed %2, broker restarts %3 (%4, down %5 ms, first reply "
               "after %6), longest pause in replies %7 ms, %8 extra endings, torn log lines "
               "%9, client retries %10, wall %11 s, seed %12")
               .arg(tally.line())
               .arg(fleet.killed())
               .arg(restartedAt.size())
               .arg(how == ChaosBroker::Stop::Terminate ? QStringLiteral("SIGTERM")
                                                        : QStringLiteral("SIGKILL"))
               .arg(downtimes.isEmpty() ? QStringLiteral("-") : downtimes.join(QLatin1Char('/')))
               .arg(recoveries.isEmpty() ? QStringLiteral("-") : recoveries.join(QLatin1Char('/')))
               .arg(milliseconds(longestPause))
               .arg(load.extraEndings())
               .arg(tally.tornLines)
               .arg(clientRetries)
               .arg(static_cast<double>(wallMs) / 1000.0, 0, 'f', 1)
               .arg(options.seed);
    for (const QString& example : tally.examples) {
        qWarning().noquote() << example;
    }

    // In full: QVERIFY2 cuts its message short, and a broker's last words are at the end.
    for (const QString& why : aborted) {
        qWarning().noquote() << why;
    }
    QVERIFY2(aborted.isEmpty(), qPrintable(aborted.join(QLatin1Char('\n'))));
    QVERIFY2(workersStopped && brokerStopped && fleet.problems().isEmpty(),
             qPrintable((fleet.problems() + broker.problems()).join(QLatin1Char('\n'))));
    QVERIFY2(tally.lost == 0, "calls ended in neither a reply nor a typed error (see above)");
    // The logs must explain every reply, or the duplicate count below would mean nothing.
    QVERIFY2(tally.logProblems.isEmpty(), qPrintable(tally.logProblems.join(QLatin1Char('\n'))));
    QCOMPARE(tally.repliedUnlogged, 0);
    QVERIFY2(tally.duplicates == 0,
             "non-idempotent calls ran twice, or calls were answered twice (see above)");
    QVERIFY2(tally.idempotentFailed == 0, "idempotent calls failed (see above)");
    QVERIFY2(tally.wrongValues == 0, "replies or arguments were not the call's (see above)");
    QCOMPARE(tally.sent, options.requests);
}

QTEST_GUILESS_MAIN(TestChaos)
#include "tst_chaos.moc"
