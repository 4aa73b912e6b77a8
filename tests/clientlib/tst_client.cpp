// The client library against the real broker, with raw 18/MDP workers built by hand from the
// RFC (tests/support/rawworker.h), so that these tests do not depend on workerlib.

#include "fakebroker.h"
#include "rawworker.h"
#include "testbroker.h"

#include <switchboard/client.h>

#include <QTest>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

struct Point {
    int x = 0;
    int y = 0;
    std::string label;
    MSGPACK_DEFINE(x, y, label)
    bool operator==(const Point&) const = default;
};

// Heartbeats fast enough that lost workers are noticed within a test's patience.
BrokerConfig testConfig(int liveness = 5, std::chrono::milliseconds requestTimeout = 5000ms)
{
    BrokerConfig config;
    config.heartbeatInterval = 100ms;
    config.liveness = liveness;
    config.requestTimeout = requestTimeout;
    return config;
}

// The worker most tests call: one method per kind of answer.
void calc(const RawWorker::Request& request, RawWorker::Session& session)
{
    const std::string& method = request.method;
    if (method == "add") {
        session.final(request, pack(request.arg<std::int64_t>(0) + request.arg<std::int64_t>(1)));
    } else if (method == "twice") {
        session.final(request, pack(request.arg<std::int64_t>(0) * 2 + 1));
    } else if (method == "greet") {
        session.final(request, pack("hello, " + request.arg<std::string>(0)));
    } else if (method == "range") {
        std::vector<int> values;
        for (int i = 0; i < request.arg<int>(0); ++i) {
            values.push_back(i);
        }
        session.final(request, pack(values));
    } else if (method == "ages") {
        session.final(request, pack(std::map<std::string, int>{{"ann", 31}, {"bob", 42}}));
    } else if (method == "point") {
        session.final(request, pack(Point{request.arg<int>(0), request.arg<int>(1), "p"}));
    } else if (method == "nothing") {
        session.final(request, pack(msgpack::type::nil_t()));
    } else if (method == "divide") {
        if (request.arg<int>(1) == 0) {
            session.error(request, "std::domain_error", "division by zero", "at calc.cpp:42");
        } else {
            session.final(request, pack(request.arg<int>(0) / request.arg<int>(1)));
        }
    } else if (method == "count") {
        for (int i = 0; i < request.arg<int>(0); ++i) {
            session.partial(request, pack(i));
        }
        session.final(request, pack(msgpack::type::nil_t()));
    } else if (method == "failAfter") {
        for (int i = 0; i < request.arg<int>(0); ++i) {
            session.partial(request, pack(i));
        }
        session.error(request, "std::runtime_error", "gave up");
    } else if (method == "garbled") {
        session.rawFinal(request, "\x07", pack(1));
    } else if (method == "never") {
        // Holds the request and keeps heartbeating: the broker sees a busy, healthy worker.
    } else {
        session.error(request, "NoSuchMethod", "no method " + method);
    }
}

// The exception `f` throws if it is an E; anything else fails the comparison that follows.
template <typename E, typename F>
std::optional<E> thrown(F&& f)
{
    try {
        f();
    } catch (const E& error) {
        return error;
    } catch (const std::exception& error) {
        qWarning("unexpected exception: %s", error.what());
    }
    return std::nullopt;
}

template <typename T>
std::vector<T> collect(Stream<T>& stream)
{
    std::vector<T> items;
    for (T& item : stream) {
        items.push_back(item);
    }
    return items;
}

bool startsWith(const std::string& text, std::string_view prefix)
{
    return text.starts_with(prefix);
}

} // namespace

class TestClient : public QObject {
    Q_OBJECT

private slots:
    void callDecodesTypedResults();
    void callReturnsVoidAndUndecodedObjects();
    void decodeErrorSaysWhatWasExpected();
    void remoteErrorCarriesTypeMessageAndDetail();
    void malformedReplyIsProtocolError();
    void invalidNamesAreRefusedBeforeSending();
    void serviceUnavailableWithoutWorkers();
    void queueFullAtTheBound();
    void expiredIsTimeout();
    void silentWorkerTimesOut();
    void lateReplyIsDiscarded();
    void workerLostIsReported();
    void workerLostIsRetriedWhenIdempotent();
    void callAsyncFuture();
    void callThenCallback();
    void throwingCallbackDoesNotStopTheClient();
    void manyAsyncCallsInFlight();
    void asyncCallsRetryAndTimeOut();
    void destructorEndsPendingAsyncCalls();
    void callbacksMayStartCallsDuringDestruction();
    void sixteenThreadsShareOneClient();
    void streamYieldsItemsInOrder();
    void streamErrorSurfacesInTheLoop();
    void streamOfSingleValueMethod();
    void callOnStreamingMethodReturnsArray();
    void streamTimesOutPerItem();
    void brokerRestartDuringIdempotentCalls();
    void brokerRestartFailsNonIdempotentCall();
    void droppedConnectionFailsNonIdempotentCall();
    void droppedConnectionRetriesIdempotentCall();
    void sharedContextOverInproc();
};

void TestClient::callDecodesTypedResults()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    QCOMPARE(client.call<int>("calc", "add", 2, 3), 5);
    QCOMPARE(client.call<std::int64_t>("calc", "add", std::int64_t(1) << 40, 1),
             (std::int64_t(1) << 40) + 1);
    QCOMPARE(client.call<std::string>("calc", "greet", "ann"), std::string("hello, ann"));
    QCOMPARE(client.call<std::vector<int>>("calc", "range", 4), (std::vector<int>{0, 1, 2, 3}));
    QCOMPARE((client.call<std::map<std::string, int>>("calc", "ages")),
             (std::map<std::string, int>{{"ann", 31}, {"bob", 42}}));
    QCOMPARE(client.call<Point>("calc", "point", 3, 4), (Point{3, 4, "p"}));
    QCOMPARE(client.call<std::optional<int>>("calc", "nothing"), std::optional<int>());
}

void TestClient::callReturnsVoidAndUndecodedObjects()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    client.call<void>("calc", "nothing");
    client.call<void>("calc", "add", 1, 1); // a value is ignored too

    msgpack::object_handle reply = client.call("calc", "greet", "bob");
    QCOMPARE(reply.get().type, msgpack::type::STR);
    QCOMPARE(reply.get().as<std::string>(), std::string("hello, bob"));
    QCOMPARE(client.call("calc", "nothing").get().type, msgpack::type::NIL);
}

void TestClient::decodeErrorSaysWhatWasExpected()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    const auto error = thrown<DecodeError>([&] { client.call<int>("calc", "greet", "ann"); });
    QVERIFY(error);
    QCOMPARE(std::string(error->what()),
             std::string("calc.greet: cannot decode the reply as int: got a string \"hello, "
                         "ann\""));

    const auto structError = thrown<DecodeError>([&] { client.call<Point>("calc", "add", 1, 2); });
    QVERIFY(structError);
    QVERIFY2(startsWith(structError->what(), "calc.add: cannot decode the reply as "),
             structError->what());
    QVERIFY2(std::string(structError->what()).ends_with("got an integer 3"), structError->what());

    // A DecodeError is a switchboard::Error like every other failure.
    QVERIFY(thrown<Error>([&] { client.call<std::vector<int>>("calc", "greet", "x"); }));
}

void TestClient::remoteErrorCarriesTypeMessageAndDetail()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    const auto error = thrown<RemoteError>([&] { client.call<int>("calc", "divide", 1, 0); });
    QVERIFY(error);
    QCOMPARE(std::string(error->what()),
             std::string("calc.divide: std::domain_error: division by zero"));
    QCOMPARE(error->type(), std::string("std::domain_error"));
    QCOMPARE(error->message(), std::string("division by zero"));
    QCOMPARE(error->detail(), std::string("at calc.cpp:42"));

    const auto noDetail = thrown<RemoteError>([&] { client.call("calc", "frobnicate"); });
    QVERIFY(noDetail);
    QCOMPARE(noDetail->type(), std::string("NoSuchMethod"));
    QCOMPARE(noDetail->detail(), std::string());

    // The client still works after an error.
    QCOMPARE(client.call<int>("calc", "divide", 9, 3), 3);
}

void TestClient::malformedReplyIsProtocolError()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    const auto error = thrown<ProtocolError>([&] { client.call("calc", "garbled"); });
    QVERIFY(error);
    QVERIFY(error->kind() == ProtocolErrorKind::InvalidStatus);
    QVERIFY2(startsWith(error->what(), "calc.garbled: "), error->what());
    QCOMPARE(client.call<int>("calc", "add", 1, 2), 3);
}

void TestClient::invalidNamesAreRefusedBeforeSending()
{
    TestBroker broker(testConfig());
    Client client(broker.frontend());

    const auto badService = thrown<ProtocolError>([&] { client.call("", "add"); });
    QVERIFY(badService);
    QVERIFY(badService->kind() == ProtocolErrorKind::InvalidServiceName);
    const auto badMethod = thrown<ProtocolError>([&] { client.call("calc", "a\nb"); });
    QVERIFY(badMethod);
    QVERIFY(badMethod->kind() == ProtocolErrorKind::InvalidMethod);
    QVERIFY(thrown<ProtocolError>([&] { client.callAsync("calc", std::string(300, 'm')).get(); }));
    QCOMPARE(broker.counters().requestsReceived, std::uint64_t(0));

    // An endpoint libzmq cannot parse is refused at construction.
    QVERIFY(thrown<zmq::error_t>([] { Client bad("tcp://nohost"); }));
}

void TestClient::serviceUnavailableWithoutWorkers()
{
    TestBroker broker(testConfig(5, 200ms));
    Client client(broker.frontend());

    const auto start = std::chrono::steady_clock::now();
    const auto error = thrown<ServiceUnavailable>([&] { client.call<int>("nobody", "hello"); });
    QVERIFY(error);
    QCOMPARE(std::string(error->what()),
             std::string("nobody.hello: no worker for service 'nobody' within 200 ms"));
    QVERIFY(std::chrono::steady_clock::now() - start >= 200ms);
}

void TestClient::queueFullAtTheBound()
{
    BrokerConfig config = testConfig();
    config.maxQueuePerService = 1;
    TestBroker broker(config);
    auto client = std::make_unique<Client>(broker.frontend());

    auto waiting = client->callAsync("nobody", "first");
    QTRY_COMPARE(broker.counters().queuedRequests, std::size_t(1));

    const auto error = thrown<QueueFull>([&] { client->call("nobody", "second"); });
    QVERIFY(error);
    QVERIFY2(startsWith(error->what(), "nobody.second: service 'nobody' already has 1 requests"),
             error->what());

    client.reset();
    const auto destroyed = thrown<ConnectionLost>([&] { waiting.get(); });
    QVERIFY(destroyed);
    QCOMPARE(std::string(destroyed->what()), std::string("nobody.first: client destroyed"));
}

void TestClient::expiredIsTimeout()
{
    TestBroker broker(testConfig(5, 300ms));
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    auto holding = client.callAsync("calc", "never");
    QTRY_COMPARE(worker.requests(), 1);
    const auto error = thrown<TimeoutError>([&] { client.call("calc", "add", 1, 2); });
    QVERIFY(error);
    QVERIFY2(startsWith(error->what(), "calc.add: all 1 workers of service 'calc' stayed busy"),
             error->what());
}

void TestClient::silentWorkerTimesOut()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    CallOptions options;
    options.timeout = 300ms;
    const auto start = std::chrono::steady_clock::now();
    const auto error = thrown<TimeoutError>([&] { client.call(options, "calc", "never"); });
    const auto elapsed = std::chrono::steady_clock::now() - start;
    QVERIFY(error);
    QCOMPARE(std::string(error->what()), std::string("calc.never: no reply within 300 ms"));
    QVERIFY(elapsed >= 300ms);
    QVERIFY(elapsed < 3s);
}

void TestClient::lateReplyIsDiscarded()
{
    TestBroker broker(testConfig());
    auto kept = std::make_shared<std::optional<RawWorker::Request>>();
    RawWorker worker(broker.context(), broker.backend(), "calc",
                     [kept](const RawWorker::Request& request, RawWorker::Session& session) {
                         if (request.method == "slow") {
                             *kept = request; // answered later, after the client gave up
                         } else {
                             calc(request, session);
                         }
                     });
    Client client(broker.frontend());

    CallOptions options;
    options.timeout = 200ms;
    QVERIFY(thrown<TimeoutError>([&] { client.call<int>(options, "calc", "slow"); }));
    worker.post([kept](RawWorker::Session& session) { session.final(**kept, pack(999)); });
    QTRY_COMPARE(broker.counters().repliesDelivered, std::uint64_t(1));

    // The same thread gets the same pooled socket, where the late 999 is waiting: it must not
    // be taken for the answer to this call.
    QCOMPARE(client.call<int>("calc", "add", 2, 3), 5);
    QCOMPARE(client.call<int>("calc", "add", 3, 4), 7);
}

void TestClient::workerLostIsReported()
{
    TestBroker broker(testConfig(3));
    RawWorker worker(broker.context(), broker.backend(), "calc",
                     [](const RawWorker::Request&, RawWorker::Session& session) { session.die(); });
    Client client(broker.frontend());

    const auto error = thrown<WorkerLost>([&] { client.call("calc", "add", 1, 2); });
    QVERIFY(error);
    QVERIFY2(startsWith(error->what(), "calc.add: worker "), error->what());
    QVERIFY2(std::string(error->what()).ends_with("the request may have run"), error->what());
    QCOMPARE(worker.requests(), 1); // not idempotent: never sent twice
}

void TestClient::workerLostIsRetriedWhenIdempotent()
{
    // The broker would re-dispatch the idempotent request itself (tests/broker/tst_reliability);
    // with one attempt it answers WorkerLost, and the client's own retry is what is tested.
    BrokerConfig config = testConfig(3);
    config.maxAttempts = 1;
    TestBroker broker(config);
    std::atomic<int> seen{0};
    RawWorker worker(broker.context(), broker.backend(), "calc",
                     [&seen](const RawWorker::Request& request, RawWorker::Session& session) {
                         if (seen++ == 0) {
                             session.die(); // comes back as a new worker, which answers
                         } else {
                             calc(request, session);
                         }
                     });
    Client client(broker.frontend());

    CallOptions options;
    options.idempotent = true;
    QCOMPARE(client.call<int>(options, "calc", "add", 20, 22), 42);
    QCOMPARE(worker.requests(), 2);
    QCOMPARE(broker.counters().workerLost, std::uint64_t(1));
}

void TestClient::callAsyncFuture()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    std::future<int> sum = client.callAsync<int>("calc", "add", 2, 3);
    std::future<std::string> greeting = client.callAsync<std::string>("calc", "greet", "cy");
    std::future<void> nothing = client.callAsync<void>("calc", "nothing");
    std::future<int> failing = client.callAsync<int>("calc", "divide", 1, 0);
    std::future<int> undecodable = client.callAsync<int>("calc", "greet", "x");

    QCOMPARE(sum.get(), 5);
    QCOMPARE(greeting.get(), std::string("hello, cy"));
    nothing.get();
    const auto error = thrown<RemoteError>([&] { failing.get(); });
    QVERIFY(error);
    QCOMPARE(error->type(), std::string("std::domain_error"));
    QVERIFY(thrown<DecodeError>([&] { undecodable.get(); }));
}

void TestClient::callThenCallback()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    struct Outcome {
        std::optional<int> value;
        std::string error;
        std::thread::id thread;
    };
    std::promise<Outcome> good;
    std::promise<Outcome> bad;
    client.callThen<int>(
        {},
        [&good](CallResult<int> result) {
            good.set_value({result.value(), {}, std::this_thread::get_id()});
        },
        "calc", "add", 40, 2);
    client.callThen<int>(
        {},
        [&bad](CallResult<int> result) {
            Outcome outcome{std::nullopt, {}, std::this_thread::get_id()};
            try {
                result.value();
            } catch (const RemoteError& error) {
                outcome.error = error.what();
            }
            bad.set_value(outcome);
        },
        "calc", "divide", 1, 0);

    auto goodFuture = good.get_future();
    auto badFuture = bad.get_future();
    QCOMPARE(goodFuture.wait_for(10s), std::future_status::ready);
    QCOMPARE(badFuture.wait_for(10s), std::future_status::ready);
    const Outcome first = goodFuture.get();
    const Outcome second = badFuture.get();
    QCOMPARE(first.value, std::optional<int>(42));
    QCOMPARE(second.error, std::string("calc.divide: std::domain_error: division by zero"));
    // Callbacks run on the client's I/O thread, one for both.
    QVERIFY(first.thread != std::this_thread::get_id());
    QCOMPARE(first.thread, second.thread);
}

void TestClient::throwingCallbackDoesNotStopTheClient()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    std::atomic<int> calls{0};
    client.callThen<int>(
        {},
        [&calls](CallResult<int>) {
            ++calls;
            throw std::runtime_error("careless callback");
        },
        "calc", "add", 1, 1);
    QTRY_COMPARE(calls.load(), 1);
    QCOMPARE(client.callAsync<int>("calc", "add", 2, 2).get(), 4);
}

void TestClient::manyAsyncCallsInFlight()
{
    TestBroker broker(testConfig());
    RawWorker first(broker.context(), broker.backend(), "calc", calc);
    RawWorker second(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    constexpr int kCalls = 2000;
    std::vector<std::future<std::int64_t>> futures;
    futures.reserve(kCalls);
    for (int i = 0; i < kCalls; ++i) {
        futures.push_back(client.callAsync<std::int64_t>("calc", "twice", i));
    }
    int wrong = 0;
    for (int i = 0; i < kCalls; ++i) {
        wrong += futures[static_cast<std::size_t>(i)].get() == 2 * i + 1 ? 0 : 1;
    }
    QCOMPARE(wrong, 0);
}

void TestClient::asyncCallsRetryAndTimeOut()
{
    TestBroker broker(testConfig(3));
    std::atomic<int> flaky{0};
    RawWorker worker(broker.context(), broker.backend(), "calc",
                     [&flaky](const RawWorker::Request& request, RawWorker::Session& session) {
                         if (request.method == "flaky" && flaky++ == 0) {
                             session.die();
                         } else if (request.method == "flaky") {
                             session.final(request, pack(7));
                         } else {
                             calc(request, session);
                         }
                     });
    Client client(broker.frontend());

    CallOptions idempotent;
    idempotent.idempotent = true;
    QCOMPARE(client.callAsync<int>(idempotent, "calc", "flaky").get(), 7);
    QCOMPARE(flaky.load(), 2);

    CallOptions shortTimeout;
    shortTimeout.timeout = 200ms;
    const auto error =
        thrown<TimeoutError>([&] { client.callAsync<int>(shortTimeout, "calc", "never").get(); });
    QVERIFY(error);
    QCOMPARE(std::string(error->what()), std::string("calc.never: no reply within 200 ms"));
}

void TestClient::destructorEndsPendingAsyncCalls()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    auto client = std::make_unique<Client>(broker.frontend());

    auto pending = client->callAsync<int>("calc", "never");
    QTRY_COMPARE(worker.requests(), 1);
    client.reset();
    const auto error = thrown<ConnectionLost>([&] { pending.get(); });
    QVERIFY(error);
    QCOMPARE(std::string(error->what()), std::string("calc.never: client destroyed"));
}

void TestClient::callbacksMayStartCallsDuringDestruction()
{
    // This used to dereference a null I/O thread: the destructor had already reset it when the
    // callbacks it ran started further calls.
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    auto client = std::make_unique<Client>(broker.frontend());
    Client* const raw = client.get();

    std::atomic<int> destroyed{0};
    raw->callThen<int>(
        {},
        [raw, &destroyed](CallResult<int> first) {
            destroyed += first.ok() ? 0 : 1;
            raw->callThen<int>(
                {}, [&destroyed](CallResult<int> second) { destroyed += second.ok() ? 0 : 1; },
                "calc", "add", 1, 2);
        },
        "calc", "never");
    QTRY_COMPARE(worker.requests(), 1);
    client.reset();
    QCOMPARE(destroyed.load(), 2);
}

void TestClient::sixteenThreadsShareOneClient()
{
    // Liveness generous: 16 busy threads on 2 cores must not get a worker purged.
    TestBroker broker(testConfig(20));
    std::vector<std::unique_ptr<RawWorker>> workers;
    for (int i = 0; i < 4; ++i) {
        workers.push_back(std::make_unique<RawWorker>(broker.context(), broker.backend(), "calc",
                                                      calc, 100ms, 20));
    }
    Client client(broker.frontend());

    constexpr int kThreads = 16;
    constexpr int kCallsPerThread = 1250;
    std::atomic<int> correct{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCallsPerThread; ++i) {
                const std::int64_t n = std::int64_t(t) * 1000000 + i;
                try {
                    if (client.call<std::int64_t>("calc", "twice", n) == 2 * n + 1) {
                        ++correct;
                    }
                } catch (const Error&) {
                    ++failed;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    QCOMPARE(failed.load(), 0);
    QCOMPARE(correct.load(), kThreads * kCallsPerThread);
}

void TestClient::streamYieldsItemsInOrder()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    auto stream = client.stream<int>("calc", "count", 100);
    std::vector<int> expected(100);
    for (int i = 0; i < 100; ++i) {
        expected[static_cast<std::size_t>(i)] = i;
    }
    QCOMPARE(collect(stream), expected);
    QCOMPARE(stream.next(), std::optional<int>()); // ended stays ended

    auto empty = client.stream<int>("calc", "count", 0);
    QCOMPARE(collect(empty), std::vector<int>());

    auto byHand = client.stream<int>("calc", "count", 2);
    QCOMPARE(byHand.next(), std::optional<int>(0));
    QCOMPARE(byHand.next(), std::optional<int>(1));
    QCOMPARE(byHand.next(), std::optional<int>());
}

void TestClient::streamErrorSurfacesInTheLoop()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    std::vector<int> items;
    std::optional<RemoteError> error;
    try {
        for (int item : client.stream<int>("calc", "failAfter", 3)) {
            items.push_back(item);
        }
    } catch (const RemoteError& e) {
        error = e;
    }
    QCOMPARE(items, (std::vector<int>{0, 1, 2}));
    QVERIFY(error);
    QCOMPARE(error->type(), std::string("std::runtime_error"));
    QCOMPARE(std::string(error->what()),
             std::string("calc.failAfter: std::runtime_error: gave up"));

    // The same error through call(): the items before it are dropped.
    QVERIFY(thrown<RemoteError>([&] { client.call("calc", "failAfter", 3); }));
}

void TestClient::streamOfSingleValueMethod()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    auto sum = client.stream<int>("calc", "add", 2, 3);
    QCOMPARE(collect(sum), std::vector<int>{5});
    auto failing = client.stream<int>("calc", "divide", 1, 0);
    QVERIFY(thrown<RemoteError>([&] { failing.begin(); }));
}

void TestClient::callOnStreamingMethodReturnsArray()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    QCOMPARE(client.call<std::vector<int>>("calc", "count", 3), (std::vector<int>{0, 1, 2}));
    QCOMPARE(client.callAsync<std::vector<int>>("calc", "count", 4).get(),
             (std::vector<int>{0, 1, 2, 3}));
    const msgpack::object_handle raw = client.call("calc", "count", 2);
    QCOMPARE(raw.get().type, msgpack::type::ARRAY);
    QCOMPARE(raw.get().via.array.size, 2u);
}

void TestClient::streamTimesOutPerItem()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    CallOptions options;
    options.timeout = 200ms;
    auto stream = client.stream<int>(options, "calc", "never");
    const auto error = thrown<TimeoutError>([&] { stream.begin(); });
    QVERIFY(error);
    QCOMPARE(std::string(error->what()), std::string("calc.never: no item within 200 ms"));
}

void TestClient::brokerRestartDuringIdempotentCalls()
{
    TestBroker broker(testConfig());
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.frontend());

    constexpr int kCalls = 300;
    std::atomic<int> done{0};
    std::atomic<int> correct{0};
    std::string firstError;
    std::thread caller([&] {
        CallOptions options;
        options.idempotent = true;
        for (int i = 0; i < kCalls; ++i) {
            try {
                if (client.call<std::int64_t>(options, "calc", "twice", i) == 2 * i + 1) {
                    ++correct;
                }
            } catch (const Error& error) {
                if (firstError.empty()) {
                    firstError = error.what();
                }
            }
            ++done;
        }
    });
    QTRY_VERIFY(done.load() >= 100);
    broker.restart();
    caller.join();
    QCOMPARE(firstError, std::string());
    QCOMPARE(correct.load(), kCalls);
    QVERIFY(worker.registrations() >= 2); // the worker did come back to the new broker
}

void TestClient::brokerRestartFailsNonIdempotentCall()
{
    TestBroker broker(testConfig());
    std::atomic<int> work{0};
    RawWorker worker(broker.context(), broker.backend(), "calc",
                     [&work](const RawWorker::Request& request, RawWorker::Session& session) {
                         if (request.method == "work") {
                             ++work; // held: still in flight when the broker goes away
                         } else {
                             calc(request, session);
                         }
                     });
    Client client(broker.frontend());

    auto inFlight =
        std::async(std::launch::async, [&] { return client.call<int>("calc", "work"); });
    QTRY_COMPARE(work.load(), 1);
    broker.restart();
    QCOMPARE(inFlight.wait_for(10s), std::future_status::ready);
    const auto error = thrown<ConnectionLost>([&] { inFlight.get(); });
    QVERIFY(error);
    QVERIFY2(startsWith(error->what(), "calc.work: "), error->what());
    QVERIFY2(std::string(error->what()).find("may have run") != std::string::npos, error->what());

    // Once the restarted broker serves the same worker, nothing re-sent the request.
    CallOptions idempotent;
    idempotent.idempotent = true;
    QCOMPARE(client.call<int>(idempotent, "calc", "add", 1, 2), 3);
    QCOMPARE(work.load(), 1);
}

void TestClient::droppedConnectionFailsNonIdempotentCall()
{
    FakeBroker broker;
    Client client(broker.endpoint());

    auto blocking =
        std::async(std::launch::async, [&] { return client.call<int>("calc", "add", 1, 2); });
    auto async = client.callAsync<int>("calc", "add", 3, 4);
    QVERIFY(broker.receive());
    QVERIFY(broker.receive());
    const auto crashedAt = std::chrono::steady_clock::now();
    broker.crash(); // no answer, no BrokerShutdown: only the dropped connection tells

    QCOMPARE(blocking.wait_for(10s), std::future_status::ready);
    QCOMPARE(async.wait_for(10s), std::future_status::ready);
    const auto error = thrown<ConnectionLost>([&] { blocking.get(); });
    QVERIFY(error);
    QCOMPARE(std::string(error->what()),
             "calc.add: connection to the broker at " + broker.endpoint() +
                 " lost while the request was in flight; the request may have run");
    QVERIFY(thrown<ConnectionLost>([&] { async.get(); }));
    // Told by the socket monitor, not by the 10 s timeout.
    QVERIFY(std::chrono::steady_clock::now() - crashedAt < 5s);
}

void TestClient::droppedConnectionRetriesIdempotentCall()
{
    FakeBroker broker;
    Client client(broker.endpoint());

    CallOptions options;
    options.idempotent = true;
    auto blocking = std::async(std::launch::async,
                               [&] { return client.call<int>(options, "calc", "add", 1, 2); });
    auto async = client.callAsync<int>(options, "calc", "add", 3, 4);
    std::set<std::string> firstIds;
    for (int i = 0; i < 2; ++i) {
        const auto request = broker.receive();
        QVERIFY(request);
        firstIds.insert((*request)[4]);
    }
    broker.crash();
    QTRY_VERIFY_WITH_TIMEOUT(broker.restart(), 5000);

    // Both requests come again, with the same request ids, once the clients have reconnected.
    std::set<std::string> secondIds;
    for (int i = 0; i < 2; ++i) {
        const auto request = broker.receive();
        QVERIFY(request);
        secondIds.insert((*request)[4]);
        const auto args = unpack<std::vector<int>>((*request)[6]);
        broker.answer(*request, pack(args.at(0) + args.at(1)));
    }
    QCOMPARE(secondIds, firstIds);
    QCOMPARE(blocking.wait_for(10s), std::future_status::ready);
    QCOMPARE(blocking.get(), 3);
    QCOMPARE(async.wait_for(10s), std::future_status::ready);
    QCOMPARE(async.get(), 7);
}

void TestClient::sharedContextOverInproc()
{
    TestBroker broker(testConfig(), QStringLiteral("inproc"));
    RawWorker worker(broker.context(), broker.backend(), "calc", calc);
    Client client(broker.context(), broker.frontend());

    QCOMPARE(client.endpoint(), broker.frontend());
    QCOMPARE(client.call<int>("calc", "add", 5, 6), 11);
    QCOMPARE(client.callAsync<int>("calc", "add", 6, 7).get(), 13);
    auto stream = client.stream<int>("calc", "count", 3);
    QCOMPARE(collect(stream), (std::vector<int>{0, 1, 2}));
}

QTEST_GUILESS_MAIN(TestClient)
#include "tst_client.moc"
