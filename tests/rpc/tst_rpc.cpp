// clientlib and workerlib end to end through the real broker: one Client shared by 16 threads
// against a multi-threaded Worker, streams, errors, and a broker restart under a loop of
// idempotent calls with both libraries reconnecting on their own.

#include "testbroker.h"

#include <switchboard/client.h>
#include <switchboard/worker.h>

#include <QTest>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

BrokerConfig fastHeartbeats()
{
    BrokerConfig config;
    config.heartbeatInterval = 100ms;
    config.liveness = 3;
    return config;
}

WorkerOptions workerOptions(int threads)
{
    WorkerOptions options;
    options.threads = threads;
    options.heartbeatInterval = 100ms;
    options.liveness = 3;
    options.reconnectMin = 20ms;
    options.reconnectMax = 200ms;
    return options;
}

CallOptions idempotent(std::chrono::milliseconds timeout)
{
    CallOptions options;
    options.idempotent = true;
    options.timeout = timeout;
    return options;
}

} // namespace

class TestRpc : public QObject {
    Q_OBJECT

private slots:
    void sixteenThreadsShareOneClient()
    {
        // Twenty threads on two cores (more under a sanitizer): a 300 ms liveness would purge a
        // worker whose heartbeat merely waited for a core, which is not what this test is about.
        BrokerConfig config = fastHeartbeats();
        config.liveness = 20;
        TestBroker broker(config);
        WorkerOptions options = workerOptions(4);
        options.liveness = 20;
        Worker worker(broker.context(), broker.backend(), "math", options);
        worker.handle("affine", [](std::int64_t n, const std::string& tag) {
            return tag + ":" + std::to_string(n * 3 + 1);
        });
        worker.start();

        Client client(broker.context(), broker.frontend());
        constexpr int kThreads = 16;
        constexpr int kCallsPerThread = 1250; // 20,000 calls in all
        std::atomic<int> correct{0};
        std::vector<std::string> failures(kThreads);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                const std::string tag = "t" + std::to_string(t);
                try {
                    for (int i = 0; i < kCallsPerThread; ++i) {
                        const std::int64_t n = t * 100000 + i;
                        const auto reply = client.call<std::string>("math", "affine", n, tag);
                        if (reply != tag + ":" + std::to_string(n * 3 + 1)) {
                            failures[t] = "wrong answer " + reply;
                            return;
                        }
                        ++correct;
                    }
                } catch (const std::exception& e) {
                    failures[t] = e.what();
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        for (const auto& failure : failures) {
            QVERIFY2(failure.empty(), failure.c_str());
        }
        QCOMPARE(correct.load(), kThreads * kCallsPerThread);
    }

    void streamsAndErrorsCrossBothLibraries()
    {
        TestBroker broker(fastHeartbeats());
        Worker worker(broker.context(), broker.backend(), "numbers", workerOptions(1));
        worker.handleStream<int>("upTo", [](StreamWriter& out, int n) {
            for (int i = 1; i <= n; ++i) {
                if (i == 4 && n == 7) {
                    throw std::out_of_range("four is as far as seven goes");
                }
                out.write(i);
            }
        });
        worker.handle("half", [](int n) {
            if (n % 2 != 0) {
                throw std::invalid_argument(std::to_string(n) + " is odd");
            }
            return n / 2;
        });
        worker.start();
        Client client(broker.context(), broker.frontend());

        std::vector<int> items;
        for (int item : client.stream<int>("numbers", "upTo", 5)) {
            items.push_back(item);
        }
        QCOMPARE(items, (std::vector<int>{1, 2, 3, 4, 5}));

        items.clear();
        try {
            for (int item : client.stream<int>("numbers", "upTo", 7)) {
                items.push_back(item);
            }
            QFAIL("the stream should have ended with the worker's error");
        } catch (const RemoteError& error) {
            QCOMPARE(error.type(), std::string("std::out_of_range"));
            QCOMPARE(error.message(), std::string("four is as far as seven goes"));
        }
        QCOMPARE(items, (std::vector<int>{1, 2, 3}));

        QCOMPARE(client.callAsync<int>("numbers", "half", 8).get(), 4);
        try {
            client.call<int>("numbers", "half", 7);
            QFAIL("an odd number should have been refused");
        } catch (const RemoteError& error) {
            QCOMPARE(error.type(), std::string("std::invalid_argument"));
            QCOMPARE(std::string(error.what()), std::string("numbers.half: std::invalid_argument: "
                                                            "7 is odd"));
        }
        try {
            client.call<int>("numbers", "half", "eight");
            QFAIL("a string should have been refused");
        } catch (const RemoteError& error) {
            QCOMPARE(error.type(), std::string("TypeError"));
        }
    }

    // Both libraries reconnect by themselves: the worker re-registers with the new broker, the
    // client re-sends the idempotent calls whose replies the restart lost.
    void brokerRestartLosesNoIdempotentCall()
    {
        TestBroker broker(fastHeartbeats());
        std::atomic<int> served{0};
        Worker worker(broker.context(), broker.backend(), "counter", workerOptions(2));
        worker.handle("square", [&served](int n) {
            ++served;
            return n * n;
        });
        worker.start();
        Client client(broker.context(), broker.frontend());

        constexpr int kCalls = 400;
        std::atomic<int> done{0};
        std::string failure;
        std::thread caller([&] {
            try {
                for (int i = 0; i < kCalls; ++i) {
                    if (client.call<int>(idempotent(20s), "counter", "square", i) != i * i) {
                        failure = "wrong answer for " + std::to_string(i);
                        return;
                    }
                    ++done;
                }
            } catch (const std::exception& e) {
                failure = e.what();
            }
        });
        // Restart in the middle of the loop, twice.
        QTRY_VERIFY_WITH_TIMEOUT(done.load() >= kCalls / 4, 20000);
        broker.restart();
        QTRY_VERIFY_WITH_TIMEOUT(done.load() >= kCalls / 2 || !failure.empty(), 20000);
        broker.restart();
        caller.join();
        QVERIFY2(failure.empty(), failure.c_str());
        QCOMPARE(done.load(), kCalls);
        // A retried call may have run twice (that is what idempotent allows), never zero times.
        QVERIFY(served.load() >= kCalls);
    }
};

QTEST_GUILESS_MAIN(TestRpc)
#include "tst_rpc.moc"
