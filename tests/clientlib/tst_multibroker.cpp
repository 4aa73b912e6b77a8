// One Client on several brokers: calls spread over the live ones, move away from one that
// stops, come back to it once it is restarted, and never end twice or past their timeout.
// Real brokers (BrokerThread) with raw 18/MDP workers on each, and bare ROUTERs (FakeBroker)
// where the test must decide which broker answers what.

#include "fakebroker.h"
#include "rawworker.h"
#include "switchboardprocess.h"
#include "testbroker.h"

#include <switchboard/client.h>

#include <QTemporaryDir>

#include <QTest>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

BrokerConfig testConfig()
{
    BrokerConfig config;
    config.heartbeatInterval = 100ms;
    config.liveness = 5;
    config.requestTimeout = 5000ms;
    return config;
}

// "twice" answers 2n + 1 at once; "work" does the same after a few milliseconds of work, so
// that requests are in flight when a broker stops.
void calc(const RawWorker::Request& request, RawWorker::Session& session)
{
    if (request.method == "work") {
        std::this_thread::sleep_for(3ms); // the work, not a wait for anything
    }
    session.final(request, pack(request.arg<std::int64_t>(0) * 2 + 1));
}

// A broker with `count` calc workers on it.
struct ServedBroker {
    explicit ServedBroker(int count = 1)
        : broker(testConfig())
    {
        for (int i = 0; i < count; ++i) {
            workers.push_back(
                std::make_unique<RawWorker>(broker.context(), broker.backend(), "calc", calc));
        }
    }

    int requests() const
    {
        int total = 0;
        for (const auto& worker : workers) {
            total += worker->requests();
        }
        return total;
    }

    TestBroker broker;
    std::vector<std::unique_ptr<RawWorker>> workers;
};

CallOptions idempotent(bool value = true)
{
    CallOptions options;
    options.idempotent = value;
    return options;
}

// The fake of the two that receives the next request, and the request.
std::optional<std::pair<FakeBroker*, Message>> receiveEither(FakeBroker& a, FakeBroker& b)
{
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
        for (FakeBroker* fake : {&a, &b}) {
            if (auto request = fake->receive(10ms)) {
                return std::make_pair(fake, std::move(*request));
            }
        }
    }
    return std::nullopt;
}

// How one call ended.
struct Outcome {
    bool idempotent = false;
    bool ok = false;
    bool connectionLost = false;
    std::string error;
    Clock::duration elapsed{};
};

} // namespace

class TestMultiBroker : public QObject {
    Q_OBJECT

private slots:
    void callsSpreadOverTwoBrokers();
    void idempotentCallRetriedOnTheOtherBroker();
    void nonIdempotentCallLostWithItsBroker();
    void lateAnswerFromTheFirstBrokerIsIgnored();
    void brokerStoppedUnderLoad();
    void restartedBrokerGetsCallsAgain();
    void everyBrokerDownEndsInTimeout();
    void firstCallsWaitForALiveBroker();
    void frozenBrokerIsLeftAfterConnectionTimeout();
    void hostNameStandsForItsAddresses();
    void streamStaysOnOneBroker();
};

void TestMultiBroker::callsSpreadOverTwoBrokers()
{
    ServedBroker a;
    ServedBroker b;
    Client client({a.broker.frontend(), b.broker.frontend()});
    QCOMPARE(client.endpoints(),
             (std::vector<std::string>{a.broker.frontend(), b.broker.frontend()}));
    QCOMPARE(client.endpoint(), a.broker.frontend()); // the first one

    for (int i = 0; i < 40; ++i) {
        QCOMPARE(client.call<int>("calc", "twice", i), 2 * i + 1);
    }
    std::vector<std::future<int>> futures;
    for (int i = 0; i < 40; ++i) {
        futures.push_back(client.callAsync<int>("calc", "twice", i));
    }
    for (int i = 0; i < 40; ++i) {
        QCOMPARE(futures[i].get(), 2 * i + 1);
    }
    // Both brokers saw the traffic, and neither only a token of it.
    QCOMPARE(a.requests() + b.requests(), 80);
    QVERIFY2(a.requests() >= 10 && b.requests() >= 10,
             qPrintable(QStringLiteral("%1 / %2").arg(a.requests()).arg(b.requests())));
    QVERIFY(a.broker.counters().requestsReceived >= 10);
    QVERIFY(b.broker.counters().requestsReceived >= 10);
}

void TestMultiBroker::idempotentCallRetriedOnTheOtherBroker()
{
    FakeBroker a;
    FakeBroker b;
    Client client({a.endpoint(), b.endpoint()});

    auto blocking = std::async(std::launch::async,
                               [&] { return client.call<int>(idempotent(), "calc", "twice", 1); });
    auto first = receiveEither(a, b);
    QVERIFY(first);
    FakeBroker* crashed = first->first;
    FakeBroker* other = crashed == &a ? &b : &a;
    const auto crashedAt = Clock::now();
    crashed->crash(); // and it stays away: only the other broker can answer now

    const auto retry = other->receive();
    QVERIFY(retry);
    QCOMPARE((*retry)[4], first->second[4]); // the same request id
    other->answer(*retry, pack(3));
    QCOMPARE(blocking.wait_for(10s), std::future_status::ready);
    QCOMPARE(blocking.get(), 3);
    QVERIFY(Clock::now() - crashedAt < 5s); // told by the socket monitor, not a timeout

    // The same for an asynchronous call: the I/O thread's connections are its own.
    auto async = client.callAsync<int>(idempotent(), "calc", "twice", 2);
    const auto request = other->receive();
    QVERIFY(request);
    other->answer(*request, pack(5));
    QCOMPARE(async.get(), 5);
}

void TestMultiBroker::nonIdempotentCallLostWithItsBroker()
{
    FakeBroker a;
    FakeBroker b;
    Client client({a.endpoint(), b.endpoint()});

    auto blocking =
        std::async(std::launch::async, [&] { return client.call<int>("calc", "twice", 1); });
    auto first = receiveEither(a, b);
    QVERIFY(first);
    auto async = client.callAsync<int>("calc", "twice", 2);
    auto second = receiveEither(a, b);
    QVERIFY(second);
    // Both requests went out; the broker of the blocking one dies (with the other, if the
    // asynchronous call went there too).
    FakeBroker* crashed = first->first;
    const std::string crashedEndpoint = crashed->endpoint();
    crashed->crash();
    if (second->first != crashed) {
        second->first->answer(second->second, pack(5));
        QCOMPARE(async.get(), 5);
    } else {
        QVERIFY_THROWS_EXCEPTION(ConnectionLost, async.get());
    }

    QCOMPARE(blocking.wait_for(10s), std::future_status::ready);
    try {
        blocking.get();
        QFAIL("a call whose broker died succeeded");
    } catch (const ConnectionLost& error) {
        QCOMPARE(std::string(error.what()),
                 "calc.twice: connection to the broker at " + crashedEndpoint +
                     " lost while the request was in flight; the request may have run");
    }
    // Never sent twice: the surviving broker has nothing more.
    FakeBroker* survivor = crashed == &a ? &b : &a;
    QVERIFY(!survivor->receive(200ms));
}

void TestMultiBroker::lateAnswerFromTheFirstBrokerIsIgnored()
{
    // The first broker answers WorkerLost, the call moves to the other, and then the first one
    // sends a (bogus) late answer for the same request id: it must not end the call, which
    // the other broker's answer ends once.
    FakeBroker a;
    FakeBroker b;
    Client client({a.endpoint(), b.endpoint()});

    for (const bool async : {false, true}) {
        std::atomic<int> ends{0};
        std::promise<int> result;
        std::future<int> blocking;
        if (async) {
            client.callThen<int>(
                idempotent(),
                [&](CallResult<int> value) {
                    if (++ends == 1) {
                        result.set_value(value.ok() ? value.value() : -1);
                    }
                },
                "calc", "twice", 1);
        } else {
            blocking = std::async(std::launch::async, [&] {
                const int value = client.call<int>(idempotent(), "calc", "twice", 1);
                ++ends;
                return value;
            });
        }
        auto first = receiveEither(a, b);
        QVERIFY(first);
        FakeBroker* other = first->first == &a ? &b : &a;
        first->first->answerError(first->second, "WorkerLost");
        const auto retry = other->receive();
        QVERIFY2(retry, "the retry did not go to the other broker");
        first->first->answer(first->second, pack(999)); // late, from the broker it left
        other->answer(*retry, pack(3));
        if (async) {
            QCOMPARE(result.get_future().get(), 3);
        } else {
            QCOMPARE(blocking.get(), 3);
        }
        // Another call through the same connections: the late answer is not taken for it.
        auto next = client.callAsync<int>(idempotent(), "calc", "twice", 5);
        auto request = receiveEither(a, b);
        QVERIFY(request);
        request->first->answer(request->second, pack(11));
        QCOMPARE(next.get(), 11);
        QCOMPARE(ends.load(), 1);
    }
}

void TestMultiBroker::brokerStoppedUnderLoad()
{
    ServedBroker a(3);
    ServedBroker b(3);
    ClientOptions options;
    options.timeout = 5000ms;
    Client client({a.broker.frontend(), b.broker.frontend()}, options);
    const auto slack = 1000ms; // a loaded test machine's scheduling

    std::mutex mutex;
    std::vector<Outcome> outcomes; // guarded by mutex
    const auto record = [&](Outcome outcome) {
        const std::lock_guard lock(mutex);
        outcomes.push_back(std::move(outcome));
    };

    std::atomic<bool> stopCalling{false};
    std::atomic<int> blockingDone{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 6; ++t) {
        callers.emplace_back([&, t] {
            for (int i = 0; !stopCalling; ++i) {
                Outcome outcome;
                outcome.idempotent = (i + t) % 2 == 0;
                const auto start = Clock::now();
                try {
                    outcome.ok = client.call<int>(idempotent(outcome.idempotent), "calc", "work",
                                                  i) == 2 * i + 1;
                } catch (const ConnectionLost& error) {
                    outcome.connectionLost = true;
                    outcome.error = error.what();
                } catch (const Error& error) {
                    outcome.error = error.what();
                }
                outcome.elapsed = Clock::now() - start;
                record(std::move(outcome));
                ++blockingDone;
            }
        });
    }

    constexpr int kAsync = 300;
    std::vector<std::atomic<int>> ends(kAsync);
    std::atomic<int> asyncEnded{0};
    const auto launch = [&](int from, int to) {
        for (int i = from; i < to; ++i) {
            const bool isIdempotent = i % 2 == 0;
            const auto start = Clock::now();
            client.callThen<int>(
                idempotent(isIdempotent),
                [&, i, isIdempotent, start](CallResult<int> result) {
                    Outcome outcome;
                    outcome.idempotent = isIdempotent;
                    outcome.elapsed = Clock::now() - start;
                    try {
                        outcome.ok = result.value() == 2 * i + 1;
                    } catch (const ConnectionLost& error) {
                        outcome.connectionLost = true;
                        outcome.error = error.what();
                    } catch (const Error& error) {
                        outcome.error = error.what();
                    }
                    record(std::move(outcome));
                    ++ends[i];
                    ++asyncEnded;
                },
                "calc", "work", i);
        }
    };

    launch(0, kAsync / 2);
    QTRY_VERIFY_WITH_TIMEOUT(a.requests() >= 30 && b.requests() >= 30, 10000);
    a.broker.stop();
    const int servedByBAtStop = b.requests();
    const int blockingAtStop = blockingDone.load();
    launch(kAsync / 2, kAsync);

    QTRY_COMPARE_WITH_TIMEOUT(asyncEnded.load(), kAsync, 20000);
    QTRY_VERIFY_WITH_TIMEOUT(blockingDone.load() >= blockingAtStop + 60, 20000);
    stopCalling = true;
    for (auto& caller : callers) {
        caller.join();
    }

    for (int i = 0; i < kAsync; ++i) {
        QCOMPARE(ends[i].load(), 1); // every callback ran exactly once
    }
    int lost = 0;
    for (const Outcome& outcome : outcomes) {
        QVERIFY2(outcome.elapsed <= options.timeout + slack, outcome.error.c_str());
        if (outcome.idempotent) {
            QVERIFY2(outcome.ok, outcome.error.c_str());
        } else if (!outcome.ok) {
            QVERIFY2(outcome.connectionLost, outcome.error.c_str());
            QVERIFY2(outcome.error.find(a.broker.frontend()) != std::string::npos,
                     outcome.error.c_str());
            QVERIFY2(outcome.error.find("may have run") != std::string::npos,
                     outcome.error.c_str());
            ++lost;
        }
    }
    QVERIFY(b.requests() > servedByBAtStop + 100); // B took over
    qInfo("%zu calls, %d non-idempotent ones lost with the stopped broker", outcomes.size(), lost);
}

void TestMultiBroker::restartedBrokerGetsCallsAgain()
{
    ServedBroker a;
    ServedBroker b;
    Client client({a.broker.frontend(), b.broker.frontend()});
    QTRY_VERIFY_WITH_TIMEOUT((client.call<int>("calc", "twice", 1), a.requests() > 0), 5000);

    a.broker.stop();
    for (int i = 0; i < 20; ++i) {
        QCOMPARE(client.call<int>(idempotent(), "calc", "twice", i), 2 * i + 1);
        QCOMPARE(client.callAsync<int>(idempotent(), "calc", "twice", i).get(), 2 * i + 1);
    }
    const int servedByA = a.requests();

    // Same endpoints; the worker comes back once it misses the old broker's heartbeats.
    a.broker.restart();
    QTRY_VERIFY_WITH_TIMEOUT((client.call<int>("calc", "twice", 2), a.requests() > servedByA),
                             10000);
    const int blockingOnly = a.requests();
    QTRY_VERIFY_WITH_TIMEOUT(
        (client.callAsync<int>("calc", "twice", 3).get(), a.requests() > blockingOnly), 10000);
}

void TestMultiBroker::everyBrokerDownEndsInTimeout()
{
    // inproc endpoints nobody binds: a tcp port closed here may be bound again by anyone on
    // the machine (another test's broker, with CURVE, once made this an AuthenticationError).
    zmq::context_t context;
    ClientOptions options;
    options.timeout = 300ms;
    Client client(context, {"inproc://nobody-a", "inproc://nobody-b"}, options);

    for (const bool isIdempotent : {false, true}) {
        const auto start = Clock::now();
        QVERIFY_THROWS_EXCEPTION(TimeoutError,
                                 client.call<int>(idempotent(isIdempotent), "calc", "twice", 1));
        QVERIFY(Clock::now() - start < 3s);
        auto async = client.callAsync<int>(idempotent(isIdempotent), "calc", "twice", 1);
        QCOMPARE(async.wait_for(3s), std::future_status::ready);
        QVERIFY_THROWS_EXCEPTION(TimeoutError, async.get());
    }
}

void TestMultiBroker::firstCallsWaitForALiveBroker()
{
    // The broker that comes first (ipc:// sorts before tcp://, and ties are taken in turn from
    // the first) is not there. This used to send a fresh client's first call into its queue,
    // where it waited out its timeout although the other broker was up.
    ServedBroker live;
    QTemporaryDir dir;
    const std::string absent = "ipc://" + dir.filePath("nobody").toStdString();
    ClientOptions options;
    options.timeout = 3000ms;
    for (const char* kind : {"blocking", "async", "stream"}) {
        Client client({absent, live.broker.frontend()}, options);
        const auto start = Clock::now();
        if (kind == std::string_view("blocking")) {
            QCOMPARE(client.call<int>("calc", "twice", 1), 3);
        } else if (kind == std::string_view("async")) {
            QCOMPARE(client.callAsync<int>("calc", "twice", 1).get(), 3);
        } else {
            auto stream = client.stream<int>("calc", "twice", 1);
            QCOMPARE(stream.next(), std::optional<int>(3));
        }
        QVERIFY2(Clock::now() - start < 1500ms, kind);
    }
}

void TestMultiBroker::frozenBrokerIsLeftAfterConnectionTimeout()
{
    // A broker that stops answering without closing its connections (a frozen host; here the
    // switchboard process stopped with SIGSTOP): only the ZMTP heartbeats tell, after
    // connectionTimeout.
    SwitchboardProcess frozen(QStringLiteral(SWITCHBOARD_EXECUTABLE));
    frozen.start({"--no-gui", "--no-admin", "--frontend", "tcp://127.0.0.1:*", "--backend",
                  "tcp://127.0.0.1:*"});
    QVERIFY2(frozen.waitReady(), qPrintable(frozen.stderrText()));
    zmq::context_t context;
    std::atomic<int> held{0};
    RawWorker holder(context, frozen.backends().value(0).toStdString(), "calc",
                     [&held](const RawWorker::Request& request, RawWorker::Session& session) {
                         if (request.method == "hold") {
                             ++held; // never answered
                         } else {
                             calc(request, session);
                         }
                     });
    ServedBroker live;
    ClientOptions options;
    options.connectionTimeout = 600ms;
    options.timeout = 8000ms;
    const std::string frozenEndpoint = frozen.frontends().value(0).toStdString();
    Client client({frozenEndpoint, live.broker.frontend()}, options);
    // Both brokers up: the frozen one has answered a call.
    QTRY_VERIFY_WITH_TIMEOUT((client.call<int>("calc", "twice", 1), holder.requests() > 0), 5000);

    // Submitted together, these alternate between the brokers (fewest in flight first), so
    // both kinds end up at each: idempotent, idempotent, not, not, ...
    constexpr int kCalls = 8;
    const auto isIdempotent = [](int i) { return i % 4 < 2; };
    const int liveBefore = live.requests();
    std::vector<std::future<int>> calls;
    for (int i = 0; i < kCalls; ++i) {
        calls.push_back(client.callAsync<int>(idempotent(isIdempotent(i)), "calc", "hold", i));
    }
    QTRY_VERIFY_WITH_TIMEOUT(held.load() >= 1, 5000);
    const auto frozenAt = Clock::now();
    const auto pid = static_cast<pid_t>(frozen.process().processId());
    QCOMPARE(::kill(pid, SIGSTOP), 0);

    int lost = 0;
    for (int i = 0; i < kCalls; ++i) {
        QCOMPARE(calls[i].wait_for(5s), std::future_status::ready);
        try {
            // The live broker's worker answers "hold" like "twice".
            QCOMPARE(calls[i].get(), 2 * i + 1);
        } catch (const ConnectionLost& error) {
            QVERIFY2(!isIdempotent(i), error.what());
            QVERIFY2(std::string(error.what()).find(frozenEndpoint) != std::string::npos,
                     error.what());
            ++lost;
        }
    }
    // Every call that succeeded was answered by the live broker, the ones that were held at the
    // frozen one included: the idempotent calls there were sent again.
    QCOMPARE(live.requests() - liveBefore, kCalls - lost);
    qInfo("%d calls that are not idempotent lost with the frozen broker", lost);
    QVERIFY(Clock::now() - frozenAt < 4s); // the heartbeat, not the 8 s timeout
    // And calls go on, to the live broker.
    QCOMPARE(client.call<int>(idempotent(), "calc", "twice", 4), 9);
    QCOMPARE(::kill(pid, SIGCONT), 0);
}

void TestMultiBroker::hostNameStandsForItsAddresses()
{
    // "localhost" resolves to 127.0.0.1 (and maybe ::1, where nothing listens): the client
    // keeps the name as configured and reaches the broker through the address.
    ServedBroker broker;
    const std::string port = broker.broker.frontend().substr(broker.broker.frontend().rfind(':'));
    const std::string byName = "tcp://localhost" + port;
    ClientOptions options;
    options.resolveInterval = 50ms; // resolved again and again while the test runs
    Client client({byName}, options);
    QCOMPARE(client.endpoints(), std::vector<std::string>{byName});
    QCOMPARE(client.endpoint(), byName);
    for (int i = 0; i < 10; ++i) {
        QCOMPARE(client.call<int>("calc", "twice", i), 2 * i + 1);
        QCOMPARE(client.callAsync<int>("calc", "twice", i).get(), 2 * i + 1);
    }
    QCOMPARE(broker.requests(), 20);
    // A name that does not resolve stays as given, for libzmq to try; calls time out.
    options.timeout = 200ms;
    Client nowhere({"tcp://no-such-host.invalid" + port}, options);
    QVERIFY_THROWS_EXCEPTION(TimeoutError, nowhere.call<int>("calc", "twice", 1));
}

void TestMultiBroker::streamStaysOnOneBroker()
{
    FakeBroker a;
    FakeBroker b;
    ClientOptions options;
    options.timeout = 2000ms;
    Client client({a.endpoint(), b.endpoint()}, options);

    auto stream = std::async(std::launch::async, [&] {
        auto items = client.stream<int>(idempotent(), "calc", "count", 2);
        std::vector<int> values;
        for (int item : items) {
            values.push_back(item);
        }
        return values;
    });
    auto request = receiveEither(a, b);
    QVERIFY(request);
    request->first->crash();
    QCOMPARE(stream.wait_for(10s), std::future_status::ready);
    QVERIFY_THROWS_EXCEPTION(ConnectionLost, stream.get());
    // Not retried, even when asked for as idempotent.
    FakeBroker* other = request->first == &a ? &b : &a;
    QVERIFY(!other->receive(200ms));
}

QTEST_GUILESS_MAIN(TestMultiBroker)
#include "tst_multibroker.moc"
