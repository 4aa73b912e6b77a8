// Overload: bounded queues and messages. Floods go to the `switchboard` executable as a child
// process, so its memory can be read from /proc; raw cppzmq peers check the wire.

#include "rawpeer.h"
#include "rawworker.h"
#include "residentmemory.h"
#include "switchboardprocess.h"
#include "testbroker.h"

#include <QFile>
#include <QTest>

#include <set>
#include <thread>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

const QString kSwitchboard = QStringLiteral(SWITCHBOARD_EXECUTABLE);
const QString kWildcard = QStringLiteral("tcp://127.0.0.1:*");
// The workers wait 5 s for a word from the broker (which heartbeats every second here) before
// they reconnect. With RawWorker's default of 500 ms an idle worker reconnected between batches,
// and a request that reached it just then would have been answered WorkerLost.
constexpr auto kWorkerHeartbeat = std::chrono::milliseconds(250);
constexpr int kWorkerLiveness = 20;

// Sends `count` requests for `service` on one DEALER while reading the answers. How fast it reads
// does not matter: answers it cannot take yet wait in the broker (tst_slowclient); under load
// this used to lose a few of 20,000 answers at the high-water mark. Returns the answers by
// request id.
struct Outcomes {
    std::map<std::string, int> byType;
    std::set<std::string> answeredIds;
    int duplicates = 0;
    int total = 0;
    std::chrono::nanoseconds elapsed{};
};

Outcomes runBatch(RawPeer& client, const std::string& prefix, int count, const std::string& args,
                  const std::function<void()>& sample = {})
{
    Outcomes outcomes;
    const auto started = Clock::now();
    int sent = 0;
    auto lastAnswer = Clock::now();
    while (outcomes.total < count && Clock::now() - lastAnswer < 30s) {
        zmq::pollitem_t item{client.socket().handle(), 0,
                             static_cast<short>(ZMQ_POLLIN | (sent < count ? ZMQ_POLLOUT : 0)), 0};
        zmq::poll(&item, 1, 1000ms);
        if ((item.revents & ZMQ_POLLOUT) && sent < count) {
            client.send(mdp02::request("slow", {prefix + std::to_string(sent), "work", args}));
            ++sent;
        }
        if (item.revents & ZMQ_POLLIN) {
            while (auto answer = client.receive(0ms)) {
                lastAnswer = Clock::now();
                ++outcomes.total;
                ++outcomes.byType[outcomeOf(*answer)];
                if (answer->size() > 3 && !outcomes.answeredIds.insert((*answer)[3]).second) {
                    ++outcomes.duplicates;
                }
                if (sample && outcomes.total % 500 == 0) {
                    sample();
                }
            }
        }
    }
    outcomes.elapsed = Clock::now() - started;
    return outcomes;
}

} // namespace

class TestOverload : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { limitChildSanitizerQuarantine(); }
    void queuedBytesBoundAnswersQueueFull();
    void floodGetsQueueFullAndBrokerRecovers();
    void oversizedFrameDisconnectsOnlyThatPeer();
};

void TestOverload::queuedBytesBoundAnswersQueueFull()
{
    BrokerConfig config;
    config.heartbeatInterval = 5000ms;
    config.maxQueuedBytes = 2000; // two requests of ~930 bytes, not three
    TestBroker broker(config);
    RawPeer worker(broker.context(), broker.backend());
    worker.send(mdp02::ready("slow"));
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);
    RawPeer client(broker.context(), broker.frontend());
    const std::string args = packArgs(std::string(900, 'x'));
    for (int i = 0; i < 4; ++i) {
        client.send(mdp02::request("slow", {"r" + std::to_string(i), "work", args}));
    }
    // r0 goes to the worker, r1 and r2 wait, r3 does not fit.
    const auto refused = client.receive(5000ms);
    QVERIFY(refused);
    QCOMPARE((*refused)[3], std::string("r3"));
    QCOMPARE(outcomeOf(*refused), std::string("QueueFull"));
    QVERIFY2(unpackError((*refused)[5]).message.find("--max-queued-bytes") != std::string::npos,
             unpackError((*refused)[5]).message.c_str());
    QCOMPARE(broker.counters().queuedRequests, std::size_t(2));
    QCOMPARE(broker.counters().queueFull, std::uint64_t(1));
}

void TestOverload::floodGetsQueueFullAndBrokerRecovers()
{
    // 20,000 requests of 4 KiB (80 MB) at a broker that may queue 2,000 (8 MB): ten times
    // what it may hold, and more memory than the slack below allows if it held them all.
    constexpr int kQueueBound = 2000;
    constexpr int kFlood = 10 * kQueueBound;
    constexpr int kBatch = 400;
    SwitchboardProcess switchboard(kSwitchboard);
    switchboard.start({"--no-gui", "--no-admin", "--frontend", kWildcard, "--backend", kWildcard,
                       "--max-queue", QString::number(kQueueBound), "--max-queued-bytes", "64M",
                       "--request-timeout-ms", "120000", "--heartbeat-ms", "1000", "--log-level",
                       "warning"});
    QVERIFY2(switchboard.waitReady(), qPrintable(switchboard.stderrText()));
    const qint64 pid = switchboard.process().processId();

    zmq::context_t context;
    // One slow worker: each request takes it about 0.2 ms (simulated work, not a wait for
    // anything), so the queue fills at once under the flood.
    RawWorker worker(
        context, switchboard.backends().value(0).toStdString(), "slow",
        [](const RawWorker::Request& request, RawWorker::Session& session) {
            std::this_thread::sleep_for(200us);
            session.final(request, pack(1));
        },
        kWorkerHeartbeat, kWorkerLiveness);
    RawPeer client(context, switchboard.frontends().value(0).toStdString());
    const std::string args = packArgs(std::string(4096, 'f'));

    // Warm-up, then the baseline: memory and the rate of a normal batch.
    QTRY_VERIFY_WITH_TIMEOUT(worker.registrations() >= 1, 5000);
    Outcomes warmup = runBatch(client, "warm-", kBatch, args);
    QCOMPARE(warmup.byType["OK"], kBatch);
    Outcomes before = runBatch(client, "before-", kBatch, args);
    QCOMPARE(before.byType["OK"], kBatch);
    const qint64 baselineKiB = residentKiB(pid);
    QVERIFY(baselineKiB > 0);

    qint64 peakKiB = baselineKiB;
    Outcomes flood = runBatch(client, "flood-", kFlood, args,
                              [&] { peakKiB = std::max(peakKiB, residentKiB(pid)); });
    peakKiB = std::max(peakKiB, residentKiB(pid));
    qInfo("flood of %d: %d OK, %d QueueFull, %d other; RSS %lld KiB before, peak %lld KiB", kFlood,
          flood.byType.count("OK") ? flood.byType.at("OK") : 0,
          flood.byType.count("QueueFull") ? flood.byType.at("QueueFull") : 0,
          flood.total - flood.byType["OK"] - flood.byType["QueueFull"], baselineKiB, peakKiB);
    // Nothing lost, nothing twice, nothing but replies and QueueFull.
    QCOMPARE(flood.total, kFlood);
    QCOMPARE(static_cast<int>(flood.answeredIds.size()), kFlood);
    QCOMPARE(flood.duplicates, 0);
    QCOMPARE(flood.byType["OK"] + flood.byType["QueueFull"], kFlood);
    QVERIFY2(flood.byType["QueueFull"] > 0, "the flood never reached the bound");
    // Bounded: the queue (8 MB) and libzmq's pipes, with generous slack; 80 MB if unbounded.
    QVERIFY2(peakKiB - baselineKiB < 48 * 1024,
             qPrintable(QStringLiteral("RSS grew by %1 KiB").arg(peakKiB - baselineKiB)));

    // Served normally afterwards, at a rate comparable to before the flood.
    Outcomes after = runBatch(client, "after-", kBatch, args);
    QCOMPARE(after.byType["OK"], kBatch);
    const double ratio = static_cast<double>(before.elapsed.count()) /
                         static_cast<double>(std::max<std::int64_t>(1, after.elapsed.count()));
    qInfo("batch of %d: %.1f ms before the flood, %.1f ms after (rate ratio %.2f)", kBatch,
          before.elapsed.count() / 1e6, after.elapsed.count() / 1e6, ratio);
    QVERIFY2(ratio > 0.33,
             qPrintable(QStringLiteral("after the flood at %1 of the rate before").arg(ratio)));
    QVERIFY(switchboard.process().state() == QProcess::Running);
    QCOMPARE(worker.registrations(), 1); // it never had to come back
}

void TestOverload::oversizedFrameDisconnectsOnlyThatPeer()
{
    SwitchboardProcess switchboard(kSwitchboard);
    switchboard.start({"--no-gui", "--no-admin", "--frontend", kWildcard, "--backend", kWildcard,
                       "--max-message-bytes", "64K", "--heartbeat-ms", "1000", "--log-level",
                       "warning"});
    QVERIFY2(switchboard.waitReady(), qPrintable(switchboard.stderrText()));
    const qint64 pid = switchboard.process().processId();
    zmq::context_t context;
    RawWorker worker(
        context, switchboard.backends().value(0).toStdString(), "slow",
        [](const RawWorker::Request& request, RawWorker::Session& session) {
            session.final(request, pack(request.requestId));
        },
        kWorkerHeartbeat, kWorkerLiveness);
    QTRY_VERIFY_WITH_TIMEOUT(worker.registrations() >= 1, 5000);
    const std::string frontend = switchboard.frontends().value(0).toStdString();
    {
        RawPeer warm(context, frontend);
        warm.send(mdp02::request("slow", {"warm", "work", packArgs(1)}));
        QVERIFY(warm.receive(5000ms));
    }
    const qint64 baselineKiB = residentKiB(pid);

    // A peer sending 8 MiB frames: libzmq reads the frame header, sees the size above
    // ZMQ_MAXMSGSIZE and drops the connection before allocating anything.
    RawPeer hostile(context, frontend);
    zmq_socket_monitor(hostile.socket().handle(), "inproc://hostile-events",
                       ZMQ_EVENT_DISCONNECTED);
    zmq::socket_t events(context, zmq::socket_type::pair);
    events.set(zmq::sockopt::linger, 0);
    events.connect("inproc://hostile-events");
    const std::string huge = packArgs(std::string(8u << 20, 'h'));
    int disconnects = 0;
    for (int i = 0; i < 10; ++i) {
        hostile.send(mdp02::request("slow", {"huge-" + std::to_string(i), "work", huge}));
        zmq::pollitem_t item{events.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, 10000ms) == 0) {
            break;
        }
        std::vector<zmq::message_t> event;
        (void)zmq::recv_multipart(events, std::back_inserter(event));
        ++disconnects;
    }
    QCOMPARE(disconnects, 10); // each one cost the peer its connection
    QVERIFY2(!hostile.receive(200ms), "a frame above --max-message-bytes was answered");
    zmq_socket_monitor(hostile.socket().handle(), nullptr, 0);

    // The broker neither died nor grew (80 MiB were sent at it), and serves the others.
    QVERIFY(switchboard.process().state() == QProcess::Running);
    const qint64 afterKiB = residentKiB(pid);
    QVERIFY2(afterKiB - baselineKiB < 32 * 1024,
             qPrintable(QStringLiteral("RSS grew by %1 KiB").arg(afterKiB - baselineKiB)));
    RawPeer polite(context, frontend);
    polite.send(mdp02::request("slow", {"polite", "work", packArgs(std::string(60000, 'p'))}));
    const auto answer = polite.receive(5000ms);
    QVERIFY(answer);
    QCOMPARE(outcomeOf(*answer), std::string("OK"));
}

QTEST_GUILESS_MAIN(TestOverload)
#include "tst_overload.moc"
