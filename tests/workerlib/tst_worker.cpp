// switchboard::Worker against the real broker (TestBroker) and, where the broker's side of the
// dialog must be scripted, a fake broker on a plain ROUTER socket. Clients are raw MDP peers, so
// these tests do not depend on clientlib.

#include "rawpeer.h"
#include "testbroker.h"
#include "workerpeers.h"

#include <switchboard/worker.h>

#include <QElapsedTimer>
#include <QTest>

#include <cctype>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

// ---------------------------------------------------------------------------------------------
// Handlers of every kind

int addOne(int n)
{
    return n + 1;
}

struct Counter {
    int base = 100;
    int plus(int n) const { return base + n; }
};

struct Doubler {
    int operator()(int n) const { return 2 * n; }
};

struct Point {
    int x = 0;
    int y = 0;
    MSGPACK_DEFINE(x, y)
    bool operator==(const Point&) const = default;
};

BrokerConfig quickConfig()
{
    BrokerConfig config;
    config.requestTimeout = 5000ms;
    return config;
}

std::map<std::string, msgpack::object> asMap(const msgpack::object& object)
{
    std::map<std::string, msgpack::object> map;
    for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
        map.emplace(object.via.map.ptr[i].key.as<std::string>(), object.via.map.ptr[i].val);
    }
    return map;
}

// The "detail" of an error map, or nullopt when it is nil.
std::optional<std::string> errorDetail(const std::string& payload)
{
    const auto handle = msgpack::unpack(payload.data(), payload.size());
    const auto map = asMap(handle.get());
    const auto found = map.find("detail");
    if (found == map.end() || found->second.type == msgpack::type::NIL) {
        return std::nullopt;
    }
    return found->second.as<std::string>();
}

// QVERIFY2 evaluates its description even when the statement holds, so build it only on failure.
#define QVERIFY_OK(reply)                                                                          \
    do {                                                                                           \
        QVERIFY2((reply).has_value(), "no reply");                                                 \
        if (!(reply)->ok()) {                                                                      \
            const ErrorReply error_ = (reply)->error();                                            \
            QFAIL(("error reply: " + error_.type + ": " + error_.message).c_str());                \
        }                                                                                          \
    } while (false)

} // namespace

class TestWorker : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void handlerKinds_data();
    void handlerKinds();
    void argumentAndResultTypes();
    void argumentErrors_data();
    void argumentErrors();
    void exceptionsBecomeRemoteErrors_data();
    void exceptionsBecomeRemoteErrors();
    void verboseErrorDetail();
    void unknownMethodAnswersNoSuchMethod();
    void malformedRequestAnswersMalformedRequest();
    void describeThroughTheReservedMethod();
    void streamingArrivesInOrder();
    void streamingExceptionAfterThreeItems();
    void v01WorkerServesV01Client();
    void blockingHandlerKeepsItsHeartbeats();
    void readyCarriesCreditForMaxInFlight_data();
    void readyCarriesCreditForMaxInFlight();
    void creditAnswersEchoTheirTaggedAddresses_data();
    void creditAnswersEchoTheirTaggedAddresses();
    void oneThreadHoldsItsWholeCredit();
    void fourThreadsShareOneSessionAtMostFourAtOnce();
    void theBrokerSeesOneWorkerWithItsCreditAndFillsIt();
    void strictBrokerGetsPlainReadyAfterDisconnect_data();
    void strictBrokerGetsPlainReadyAfterDisconnect();
    void brokerIgnoringCreditIsServedOneAtATime();
    void stopAnswersRequestsWaitingForAThread();
    void stopWhileHandlerRunsStillAnswers();
    void stopFromHandler();
    void stopOnIdleWorkerIsPrompt();
    void stopBeforeStartMakesRunReturn();
    void contextShutdownEndsRun();
    void reRegistersAfterBrokerRestart();
    void reconnectsAfterDisconnect();
    void reconnectsWhenBrokerFallsSilent();
    void answerAfterSessionLostMidHandlerIsDropped_data();
    void answerAfterSessionLostMidHandlerIsDropped();
    void invalidRegistrationsThrow();
    void lifecycleMisuseThrows();
};

void TestWorker::handlerKinds_data()
{
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("argument");
    QTest::addColumn<int>("expected");
    QTest::newRow("free function") << "free" << 41 << 42;
    QTest::newRow("function pointer") << "pointer" << 1 << 2;
    QTest::newRow("lambda") << "lambda" << 5 << 15;
    QTest::newRow("mutable lambda") << "mutable" << 1 << 1;
    QTest::newRow("member function") << "member" << 1 << 101;
    QTest::newRow("function object") << "functor" << 21 << 42;
}

void TestWorker::handlerKinds()
{
    QFETCH(QString, method);
    QFETCH(int, argument);
    QFETCH(int, expected);

    TestBroker broker(quickConfig());
    Counter counter;
    Worker worker(broker.backend(), "kinds");
    worker.handle("free", addOne);
    worker.handle("pointer", &addOne);
    worker.handle("lambda", [](int n) { return n + 10; });
    worker.handle("mutable", [calls = 0](int) mutable { return ++calls; });
    worker.handle("member", &Counter::plus, &counter);
    worker.handle("functor", Doubler{});
    worker.start();

    Client client(broker.context(), broker.frontend());
    const auto reply = client.call("kinds", method.toStdString(), packArgs(argument));
    QVERIFY_OK(reply);
    QCOMPARE(reply->command, std::string("FINAL"));
    QCOMPARE(reply->as<int>(), expected);
}

void TestWorker::argumentAndResultTypes()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.context(), broker.backend(), "types");
    std::atomic<int> sideEffects{0};
    worker.handle("upper", [](std::string text) {
        for (auto& c : text) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return text;
    });
    worker.handle("sum", [](const std::vector<int>& values) {
        int sum = 0;
        for (const int v : values) {
            sum += v;
        }
        return sum;
    });
    worker.handle("invert", [](const std::map<std::string, int>& map) {
        std::map<int, std::string> inverted;
        for (const auto& [key, value] : map) {
            inverted[value] = key;
        }
        return inverted;
    });
    worker.handle("mirror", [](Point p) { return Point{p.y, p.x}; });
    worker.handle("range", [](int n) {
        std::vector<int> values(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            values[static_cast<std::size_t>(i)] = i;
        }
        return values;
    });
    worker.handle("touch", [&sideEffects] { ++sideEffects; });
    worker.handle("mix", [](int a, double b, const std::string& c, bool d) {
        return c + ":" + std::to_string(a + static_cast<int>(b)) + (d ? "!" : "?");
    });
    worker.start();

    Client client(broker.context(), broker.frontend());
    auto reply = client.call("types", "upper", packArgs(std::string("hello")));
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<std::string>(), std::string("HELLO"));

    reply = client.call("types", "sum", packArgs(std::vector<int>{1, 2, 3, 4}));
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<int>(), 10);

    reply =
        client.call("types", "invert", packArgs(std::map<std::string, int>{{"a", 1}, {"b", 2}}));
    QVERIFY_OK(reply);
    QCOMPARE((reply->as<std::map<int, std::string>>()),
             (std::map<int, std::string>{{1, "a"}, {2, "b"}}));

    reply = client.call("types", "mirror", packArgs(Point{3, 4}));
    QVERIFY_OK(reply);
    QVERIFY(reply->as<Point>() == (Point{4, 3}));

    reply = client.call("types", "range", packArgs(3));
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<std::vector<int>>(), (std::vector<int>{0, 1, 2}));

    reply = client.call("types", "touch", packArgs());
    QVERIFY_OK(reply);
    QCOMPARE(reply->payload, std::string("\xc0")); // void: nil
    QCOMPARE(sideEffects.load(), 1);

    reply = client.call("types", "mix", packArgs(1, 2.5, std::string("x"), true));
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<std::string>(), std::string("x:3!"));
}

void TestWorker::argumentErrors_data()
{
    QTest::addColumn<QString>("method");
    QTest::addColumn<QByteArray>("args");
    QTest::addColumn<QString>("message");

    const auto bytes = [](const std::string& s) { return QByteArray::fromStdString(s); };
    QTest::newRow("too many") << "add_one" << bytes(packArgs(1, 2))
                              << "add_one() takes 1 argument (int), got 2";
    QTest::newRow("too few") << "join" << bytes(packArgs(std::string("a")))
                             << "join() takes 2 arguments (string, int), got 1";
    QTest::newRow("none expected")
        << "nothing" << bytes(packArgs(1)) << "nothing() takes no arguments, got 1";
    QTest::newRow("string for int") << "add_one" << bytes(packArgs(std::string("one")))
                                    << "add_one() argument 1: expected int, got a string";
    QTest::newRow("second argument") << "join" << bytes(packArgs(std::string("a"), 1.5))
                                     << "join() argument 2: expected int, got a float";
    QTest::newRow("array element") << "sum" << bytes(packArgs(std::vector<std::string>{"x"}))
                                   << "sum() argument 1: expected array<int>, got an array";
    QTest::newRow("map for string")
        << "join" << bytes(packArgs(std::map<std::string, int>{{"a", 1}}, 2))
        << "join() argument 1: expected string, got a map";
}

void TestWorker::argumentErrors()
{
    QFETCH(QString, method);
    QFETCH(QByteArray, args);
    QFETCH(QString, message);

    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "calc");
    worker.handle("add_one", addOne);
    worker.handle("join", [](const std::string& s, int n) { return s + std::to_string(n); });
    worker.handle("nothing", [] { return 0; });
    worker.handle("sum", [](const std::vector<int>& v) { return v.size(); });
    worker.start();

    Client client(broker.context(), broker.frontend());
    const auto reply = client.call("calc", method.toStdString(), args.toStdString());
    QVERIFY(reply);
    QCOMPARE(reply->status, kError);
    QCOMPARE(reply->error().type, std::string("TypeError"));
    QCOMPARE(QString::fromStdString(reply->error().message), message);
    QVERIFY(!errorDetail(reply->payload)); // not verbose: detail nil
}

void TestWorker::exceptionsBecomeRemoteErrors_data()
{
    QTest::addColumn<QString>("method");
    QTest::addColumn<QString>("type");
    QTest::addColumn<QString>("message");
    QTest::newRow("std::domain_error") << "domain"
                                       << "std::domain_error"
                                       << "negative input";
    QTest::newRow("own exception type") << "own"
                                        << "switchboard::Error"
                                        << "own error";
    QTest::newRow("TypeError from a handler") << "type"
                                              << "TypeError"
                                              << "expected a prime";
    QTest::newRow("not a std::exception")
        << "int"
        << "UnknownException"
        << "the handler threw something that is not a std::exception";
}

void TestWorker::exceptionsBecomeRemoteErrors()
{
    QFETCH(QString, method);
    QFETCH(QString, type);
    QFETCH(QString, message);

    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "calc");
    worker.handle("domain", []() -> int { throw std::domain_error("negative input"); });
    worker.handle("own", [] { throw Error("own error"); });
    worker.handle("type", []() -> int { throw TypeError("expected a prime"); });
    worker.handle("int", [] { throw 42; });
    worker.handle("fine", [] { return std::string("still here"); });
    worker.start();

    Client client(broker.context(), broker.frontend());
    auto reply = client.call("calc", method.toStdString(), packArgs());
    QVERIFY(reply);
    QCOMPARE(reply->command, std::string("FINAL"));
    QCOMPARE(reply->status, kError);
    QCOMPARE(QString::fromStdString(reply->error().type), type);
    QCOMPARE(QString::fromStdString(reply->error().message), message);
    QVERIFY(!errorDetail(reply->payload));

    // Nothing of the worker broke.
    reply = client.call("calc", "fine", packArgs());
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<std::string>(), std::string("still here"));
}

void TestWorker::verboseErrorDetail()
{
    TestBroker broker(quickConfig());
    WorkerOptions options;
    options.verboseErrors = true;
    options.identity = "test-worker-7";
    Worker worker(broker.backend(), "calc", options);
    worker.handle("fail", [](int n) -> int {
        if (n < 0) {
            throw std::domain_error("negative input");
        }
        return n;
    });
    worker.start();

    Client client(broker.context(), broker.frontend());
    auto reply = client.call("calc", "fail", packArgs(-1));
    QVERIFY(reply);
    QCOMPARE(reply->error().type, std::string("std::domain_error"));
    QCOMPARE(reply->error().message, std::string("negative input"));
    const auto detail = errorDetail(reply->payload);
    QVERIFY(detail);
    const QString text = QString::fromStdString(*detail);
    QVERIFY2(text.contains("std::domain_error: negative input"), qPrintable(text));
    QVERIFY2(text.contains("test-worker-7, thread 1 of 1"), qPrintable(text));
    QVERIFY2(text.contains("calc.fail"), qPrintable(text));
    // The test binary exports its symbols (ENABLE_EXPORTS), so frames have demangled names.
    QVERIFY2(text.contains("#0 "), qPrintable(text));
    QVERIFY2(text.contains("switchboard::detail::BrokerSession::"), qPrintable(text));

    // Argument errors carry the detail too.
    reply = client.call("calc", "fail", packArgs("x"));
    QVERIFY(reply);
    QCOMPARE(reply->error().type, std::string("TypeError"));
    QVERIFY(errorDetail(reply->payload).value_or("").find("TypeError: fail() argument 1") !=
            std::string::npos);
}

void TestWorker::unknownMethodAnswersNoSuchMethod()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "calc");
    worker.handle("add_one", addOne);
    worker.handle("divide", [](double a, double b) { return a / b; });
    worker.start();

    Client client(broker.context(), broker.frontend());
    const auto reply = client.call("calc", "multiply", packArgs(2, 3));
    QVERIFY(reply);
    QCOMPARE(reply->status, kError);
    QCOMPARE(reply->error().type, std::string("NoSuchMethod"));
    QCOMPARE(reply->error().message,
             std::string("service 'calc' has no method 'multiply' (its methods: add_one, divide)"));
}

void TestWorker::malformedRequestAnswersMalformedRequest()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "calc");
    worker.handle("add_one", addOne);
    worker.start();

    Client client(broker.context(), broker.frontend());
    // Args that are not a msgpack array: the request id is still usable and echoed.
    client.sendBody("calc", {"rid-bad", "add_one", pack(1)});
    auto reply = client.receive();
    QVERIFY(reply);
    QCOMPARE(reply->requestId, std::string("rid-bad"));
    QCOMPARE(reply->status, kError);
    QCOMPARE(reply->error().type, std::string("MalformedRequest"));
    QVERIFY2(reply->error().message.find("args") != std::string::npos,
             reply->error().message.c_str());

    // No envelope at all (one body frame): still answered.
    client.sendBody("calc", {"rid-short"});
    reply = client.receive();
    QVERIFY(reply);
    QCOMPARE(reply->requestId, std::string("rid-short"));
    QCOMPARE(reply->error().type, std::string("MalformedRequest"));

    const auto good = client.call("calc", "add_one", packArgs(1));
    QVERIFY_OK(good);
    QCOMPARE(good->as<int>(), 2);
}

void TestWorker::describeThroughTheReservedMethod()
{
    TestBroker broker(quickConfig());
    WorkerOptions options;
    options.identity = "describer";
    Worker worker(broker.backend(), "calc", options);
    worker.handle("add_one", addOne);
    worker.handle("join", [](const std::string& s, const std::vector<int>& v) {
        return s + std::to_string(v.size());
    });
    worker.handle("touch", [] {});
    worker.handleStream<int>("count", [](StreamWriter& out, int n) {
        for (int i = 0; i < n; ++i) {
            out.write(i);
        }
    });
    worker.start();

    Client client(broker.context(), broker.frontend());
    const auto reply = client.call("calc", std::string(kDescribeMethod), packArgs());
    QVERIFY_OK(reply);
    // What describe() returns locally is what the reserved method answers.
    const zmq::message_t local = worker.describe();
    QCOMPARE(reply->payload, local.to_string());

    const auto handle = msgpack::unpack(reply->payload.data(), reply->payload.size());
    const auto top = asMap(handle.get());
    QCOMPARE(top.at("service").as<std::string>(), std::string("calc"));
    QCOMPARE(top.at("worker").as<std::string>(), std::string("describer"));
    QVERIFY(!top.at("version").as<std::string>().empty());
    const auto methods = top.at("methods").as<std::vector<msgpack::object>>();
    QCOMPARE(methods.size(), std::size_t(4)); // the reserved method is not listed

    std::map<std::string, std::map<std::string, msgpack::object>> byName;
    for (const auto& method : methods) {
        auto fields = asMap(method);
        byName[fields.at("name").as<std::string>()] = fields;
    }
    QCOMPARE(byName.at("add_one").at("args").as<std::vector<std::string>>(),
             std::vector<std::string>{"int"});
    QCOMPARE(byName.at("add_one").at("returns").as<std::string>(), std::string("int"));
    QCOMPARE(byName.at("add_one").at("streaming").as<bool>(), false);
    QCOMPARE(byName.at("join").at("args").as<std::vector<std::string>>(),
             (std::vector<std::string>{"string", "array<int>"}));
    QCOMPARE(byName.at("join").at("returns").as<std::string>(), std::string("string"));
    QCOMPARE(byName.at("touch").at("args").as<std::vector<std::string>>(),
             std::vector<std::string>{});
    QCOMPARE(byName.at("touch").at("returns").as<std::string>(), std::string("nil"));
    QCOMPARE(byName.at("count").at("args").as<std::vector<std::string>>(),
             std::vector<std::string>{"int"});
    QCOMPARE(byName.at("count").at("returns").as<std::string>(), std::string("int"));
    QCOMPARE(byName.at("count").at("streaming").as<bool>(), true);
}

void TestWorker::streamingArrivesInOrder()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "numbers");
    worker.handleStream<int>("count", [](StreamWriter& out, int n) {
        for (int i = 0; i < n; ++i) {
            out.write(i);
        }
    });
    worker.start();

    Client client(broker.context(), broker.frontend());
    const std::string id = client.send("numbers", "count", packArgs(100));
    for (int i = 0; i < 100; ++i) {
        const auto item = client.receive();
        QVERIFY(item);
        QCOMPARE(item->command, std::string("PARTIAL"));
        QCOMPARE(item->requestId, id);
        QCOMPARE(item->status, kOk);
        QCOMPARE(item->as<int>(), i);
    }
    const auto end = client.receive();
    QVERIFY(end);
    QCOMPARE(end->command, std::string("FINAL"));
    QCOMPARE(end->requestId, id);
    QCOMPARE(end->status, kOk);
    QCOMPARE(end->payload, std::string("\xc0"));
}

void TestWorker::streamingExceptionAfterThreeItems()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "numbers");
    worker.handleStream<int>("countdown", [](StreamWriter& out, int from) {
        for (int n = from; n > 0; --n) {
            if (out.written() == 3) {
                throw std::runtime_error("interrupted after 3 items");
            }
            out.write(n);
        }
    });
    worker.start();

    Client client(broker.context(), broker.frontend());
    client.send("numbers", "countdown", packArgs(10));
    for (int n = 10; n > 7; --n) {
        const auto item = client.receive();
        QVERIFY(item);
        QCOMPARE(item->command, std::string("PARTIAL"));
        QCOMPARE(item->as<int>(), n);
    }
    const auto end = client.receive();
    QVERIFY(end);
    QCOMPARE(end->command, std::string("FINAL"));
    QCOMPARE(end->status, kError);
    QCOMPARE(end->error().type, std::string("std::runtime_error"));
    QCOMPARE(end->error().message, std::string("interrupted after 3 items"));
    QVERIFY(!client.receive(100ms)); // nothing after the FINAL
}

void TestWorker::v01WorkerServesV01Client()
{
    TestBroker broker(quickConfig());
    WorkerOptions options;
    options.protocol = mdp::Version::V01;
    Worker worker(broker.backend(), "old", options);
    worker.handle("add_one", addOne);
    worker.handleStream<int>("count", [](StreamWriter& out, int n) {
        for (int i = 0; i < n; ++i) {
            out.write(i);
        }
    });
    worker.start();

    Client client(broker.context(), broker.frontend(), 1);
    auto reply = client.call("old", "add_one", packArgs(1));
    QVERIFY_OK(reply);
    QCOMPARE(reply->command, std::string("REPLY"));
    QCOMPARE(reply->as<int>(), 2);

    reply = client.call("old", "count", packArgs(3));
    QVERIFY(reply);
    QCOMPARE(reply->status, kError);
    QCOMPARE(reply->error().type, std::string("StreamingUnsupported"));

    // An 18/MDP client reaches the 7/MDP worker through the broker's translation.
    Client modern(broker.context(), broker.frontend(), 2);
    reply = modern.call("old", "add_one", packArgs(41));
    QVERIFY_OK(reply);
    QCOMPARE(reply->command, std::string("FINAL"));
    QCOMPARE(reply->as<int>(), 42);
}

void TestWorker::blockingHandlerKeepsItsHeartbeats()
{
    BrokerConfig config = quickConfig();
    // A liveness of 500 ms: short next to how long the handler blocks, long next to the
    // scheduling stalls of a loaded 2-core machine (at 150 ms it failed once at load 8).
    config.heartbeatInterval = 100ms;
    config.liveness = 5;
    TestBroker broker(config);
    WorkerOptions options;
    options.heartbeatInterval = 100ms;
    options.liveness = 5;
    Worker worker(broker.backend(), "slow", options);
    Gate gate;
    worker.handle("block", [&gate] { return gate.pass(); });
    worker.start();

    Client client(broker.context(), broker.frontend());
    const std::string id = client.send("slow", "block", packArgs());
    QVERIFY(gate.waitEntered(1));

    // Six times the liveness with the handler blocked, watching that the broker never purges the
    // worker; then the test releases it.
    const auto until = std::chrono::steady_clock::now() + 3000ms;
    while (std::chrono::steady_clock::now() < until) {
        QCOMPARE(broker.counters().workersPurged, std::uint64_t(0));
        QVERIFY(!client.receive(50ms)); // and no WorkerLost answer either
    }
    gate.open();

    const auto reply = client.receive();
    QVERIFY_OK(reply);
    QCOMPARE(reply->requestId, id);
    QCOMPARE(reply->as<bool>(), true);
    const BrokerCounters counters = broker.counters();
    QCOMPARE(counters.workersPurged, std::uint64_t(0));
    QCOMPARE(counters.workerLost, std::uint64_t(0));
    QCOMPARE(counters.workersRegistered, std::uint64_t(1)); // never had to register again
}

void TestWorker::readyCarriesCreditForMaxInFlight_data()
{
    QTest::addColumn<int>("threads");
    QTest::addColumn<int>("maxInFlight"); // 0: unset
    QTest::addColumn<bool>("v01");
    QTest::addColumn<QStringList>("ready"); // without the identity frame

    const QString v02 = QStringLiteral("MDPW02");
    const QString readyByte = QStringLiteral("\x01");
    // Capacity 1 stays plain MDP: nothing changes on the wire for today's workers.
    QTest::newRow("defaults: plain READY") << 1 << 0 << false << QStringList{v02, readyByte, "svc"};
    QTest::newRow("maxInFlight 1: plain READY")
        << 1 << 1 << false << QStringList{v02, readyByte, "svc"};
    QTest::newRow("one thread, maxInFlight 32")
        << 1 << 32 << false << QStringList{v02, readyByte, "svc", "credit=32"};
    QTest::newRow("four threads: credit 4")
        << 4 << 0 << false << QStringList{v02, readyByte, "svc", "credit=4"};
    QTest::newRow("four threads, maxInFlight 8")
        << 4 << 8 << false << QStringList{v02, readyByte, "svc", "credit=8"};
    QTest::newRow("the most: 1024")
        << 1 << 1024 << false << QStringList{v02, readyByte, "svc", "credit=1024"};
    QTest::newRow("7/MDP") << 1 << 5 << true
                           << QStringList{"", "MDPW01", readyByte, "svc", "credit=5"};
}

void TestWorker::readyCarriesCreditForMaxInFlight()
{
    QFETCH(int, threads);
    QFETCH(int, maxInFlight);
    QFETCH(bool, v01);
    QFETCH(QStringList, ready);

    FakeBroker fake;
    WorkerOptions options;
    options.threads = threads;
    if (maxInFlight != 0) {
        options.maxInFlight = maxInFlight;
    }
    options.protocol = v01 ? mdp::Version::V01 : mdp::Version::V02;
    Worker worker(fake.endpoint(), "svc", options);
    worker.handle("add_one", addOne);
    worker.start();

    const auto first = fake.receive(); // a worker's first word is its READY
    QVERIFY(first);
    Message expected;
    for (const QString& frame : ready) {
        expected.push_back(frame.toStdString());
    }
    QCOMPARE(withoutIdentity(*first), expected);
}

void TestWorker::creditAnswersEchoTheirTaggedAddresses_data()
{
    QTest::addColumn<int>("threads");
    QTest::newRow("one thread") << 1;    // answers sent by the thread that holds the socket
    QTest::newRow("three threads") << 3; // ... and by the others, through the owner's outbox
}

void TestWorker::creditAnswersEchoTheirTaggedAddresses()
{
    QFETCH(int, threads);

    FakeBroker fake;
    WorkerOptions options;
    options.threads = threads;
    options.maxInFlight = 6;
    Worker worker(fake.endpoint(), "svc", options);
    worker.handle("add_one", addOne);
    worker.handleStream<int>("count", [](StreamWriter& out, int n) {
        for (int i = 0; i < n; ++i) {
            out.write(i);
        }
    });
    worker.start();
    const auto ready = fake.nextReadyMessage();
    QVERIFY(ready);
    QCOMPARE(ready->back(), std::string("credit=6"));
    const std::string id = ready->front();

    // Client identity + 4 tag bytes, zero bytes included; client A has two requests here.
    const auto tagged = [](const std::string& client, const std::string& tag) {
        return client + tag;
    };
    const std::vector<std::string> addresses{
        tagged("client-A", std::string("\0\0\0\x01", 4)),
        tagged("client-A", std::string("\0\0\0\x02", 4)),
        tagged("client-B", std::string("\xff\0\0\x07", 4)),
        tagged(std::string("\0\x6b\x01", 3), std::string("\0\0\0\0", 4)),
        tagged("client-C", std::string("\x80\x81\x82\x83", 4)),
        tagged("client-D", std::string("\0\0\x01\0", 4)),
    };
    // All six at once, as a broker with credit 6 may send them; the last one streams.
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const int n = static_cast<int>(i);
        const bool stream = i + 1 == addresses.size();
        fake.send(id, workerRequest(addresses[i], "rid-" + std::to_string(i),
                                    stream ? "count" : "add_one", packArgs(stream ? 3 : n)));
    }

    std::map<std::string, Message> finals; // by request id
    std::vector<int> items;
    while (finals.size() < addresses.size()) {
        const auto answer = fake.nextNotHeartbeat();
        QVERIFY2(answer, "an answer is missing");
        QCOMPARE((*answer)[0], id);
        QCOMPARE(answer->size(), std::size_t(8));
        QCOMPARE((*answer)[1], std::string("MDPW02"));
        if ((*answer)[2] == "\x03") { // PARTIAL
            QCOMPARE((*answer)[3], addresses.back());
            QCOMPARE((*answer)[5], "rid-" + std::to_string(addresses.size() - 1));
            items.push_back(unpack<int>((*answer)[7]));
            continue;
        }
        QCOMPARE((*answer)[2], std::string("\x04")); // FINAL
        QVERIFY(finals.emplace((*answer)[5], *answer).second);
    }
    for (std::size_t i = 0; i + 1 < addresses.size(); ++i) {
        const Message& answer = finals.at("rid-" + std::to_string(i));
        QCOMPARE(answer[3], addresses[i]); // byte for byte
        QCOMPARE(answer[4], std::string());
        QCOMPARE(answer[6], kOk);
        QCOMPARE(unpack<int>(answer[7]), static_cast<int>(i) + 1);
    }
    const Message& streamEnd = finals.at("rid-" + std::to_string(addresses.size() - 1));
    QCOMPARE(streamEnd[3], addresses.back());
    QCOMPARE(streamEnd[7], std::string("\xc0"));
    QCOMPARE(items, (std::vector<int>{0, 1, 2}));
}

void TestWorker::oneThreadHoldsItsWholeCredit()
{
    FakeBroker fake;
    WorkerOptions options;
    options.maxInFlight = 8; // threads = 1
    Worker worker(fake.endpoint(), "svc", options);
    Gate gate;
    Concurrency concurrency;
    worker.handle("block", [&](int n) {
        concurrency.enter();
        const bool opened = gate.pass();
        concurrency.leave();
        return opened ? n : -1;
    });
    worker.start();
    const auto id = fake.nextReady();
    QVERIFY(id);

    for (int i = 0; i < 8; ++i) {
        fake.send(*id, workerRequest("client-" + std::to_string(i), "rid-" + std::to_string(i),
                                     "block", packArgs(i)));
    }
    QVERIFY(gate.waitEntered(1));
    // The first blocks the only thread; the other seven wait in the worker, unanswered.
    QVERIFY(!fake.nextNotHeartbeat(200ms));
    gate.open();

    std::set<int> answered;
    for (int i = 0; i < 8; ++i) {
        const auto answer = fake.nextNotHeartbeat();
        QVERIFY2(answer, qPrintable(QString("only %1 of 8 answered").arg(i)));
        QCOMPARE((*answer)[2], std::string("\x04"));
        const int n = unpack<int>((*answer)[7]);
        QCOMPARE((*answer)[3], "client-" + std::to_string(n));
        answered.insert(n);
    }
    QCOMPARE(answered.size(), std::size_t(8)); // none dropped: all eight were held
    QCOMPARE(concurrency.most(), 1);           // and run one after the other
}

void TestWorker::theBrokerSeesOneWorkerWithItsCreditAndFillsIt()
{
    // Against the real broker: 4 threads, credit 8. The broker sees one worker of capacity 8
    // and hands it 8 requests at once; 4 run, 4 wait in the worker, none waits at the broker.
    TestBroker broker(quickConfig());
    WorkerOptions options;
    options.threads = 4;
    options.maxInFlight = 8;
    Worker worker(broker.backend(), "wide", options);
    std::mutex mutex;
    std::condition_variable changed;
    int inside = 0;
    int most = 0;
    bool open = false;
    worker.handle("gather", [&] {
        std::unique_lock lock(mutex);
        ++inside;
        most = std::max(most, inside);
        changed.notify_all();
        const bool opened = changed.wait_for(lock, 10s, [&] { return open; });
        --inside;
        return opened;
    });
    worker.start();
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);

    Client client(broker.context(), broker.frontend());
    for (int i = 0; i < 9; ++i) {
        client.send("wide", "gather", packArgs());
    }
    QTRY_COMPARE_WITH_TIMEOUT(broker.snapshot().workers.value(0).inFlight, 8, 5000);
    QCOMPARE(broker.snapshot().workers.value(0).capacity, 8);
    QCOMPARE(broker.counters().queuedRequests, std::size_t(1));
    {
        std::unique_lock lock(mutex);
        QVERIFY(changed.wait_for(lock, 5s, [&] { return inside == 4; }));
        open = true;
        changed.notify_all();
    }
    std::set<std::string> ids;
    for (int i = 0; i < 9; ++i) {
        const auto reply = client.receive(15000ms);
        QVERIFY_OK(reply);
        QCOMPARE(reply->as<bool>(), true);
        ids.insert(reply->requestId);
    }
    QCOMPARE(ids.size(), std::size_t(9));
    std::lock_guard lock(mutex);
    QCOMPARE(most, 4);
}

void TestWorker::fourThreadsShareOneSessionAtMostFourAtOnce()
{
    FakeBroker fake;
    WorkerOptions options;
    options.threads = 4;
    options.maxInFlight = 8;
    options.identity = "wide";
    Worker worker(fake.endpoint(), "svc", options);
    Gate gate;
    Concurrency concurrency;
    worker.handle("block", [&](int n) {
        concurrency.enter();
        gate.pass();
        concurrency.leave();
        return n;
    });
    worker.start();
    const auto ready = fake.nextReadyMessage();
    QVERIFY(ready);
    QCOMPARE(*ready, (Message{"wide", "MDPW02", "\x01", "svc", "credit=8"})); // no "/N" suffix

    for (int i = 0; i < 8; ++i) {
        fake.send("wide", workerRequest("client-" + std::to_string(i), "rid-" + std::to_string(i),
                                        "block", packArgs(i)));
    }
    QVERIFY(gate.waitEntered(4));
    QVERIFY(!gate.waitEntered(5, 200ms)); // four threads: the other four requests wait
    gate.open();

    int readies = 1;
    std::set<int> answered;
    while (answered.size() < 8) {
        const auto message = fake.nextNotHeartbeat();
        QVERIFY2(message, qPrintable(QString("only %1 of 8 answered").arg(answered.size())));
        QCOMPARE((*message)[0], std::string("wide"));
        if (FakeBroker::isCommand(*message, '\x01')) {
            ++readies;
            continue;
        }
        QVERIFY(FakeBroker::isCommand(*message, '\x04'));
        answered.insert(unpack<int>((*message)[7]));
    }
    QCOMPARE(concurrency.most(), 4);

    // One session: after the answers, one DISCONNECT, and no other READY was ever sent.
    worker.stop();
    const auto goodbye = fake.nextNotHeartbeat();
    QVERIFY(goodbye);
    QCOMPARE(*goodbye, (Message{"wide", "MDPW02", "\x06"}));
    worker.wait();
    QVERIFY(!fake.nextNotHeartbeat(100ms));
    QCOMPARE(readies, 1);
}

void TestWorker::strictBrokerGetsPlainReadyAfterDisconnect_data()
{
    QTest::addColumn<bool>("heartbeatFirst");
    // A strict MDP broker refuses the credit frame at once.
    QTest::newRow("DISCONNECT at once: plain READY from now on") << false;
    // A broker that took the READY (it sent HEARTBEAT) and then said DISCONNECT for some other
    // reason refused nothing: the credit stays.
    QTest::newRow("DISCONNECT after a HEARTBEAT: credit kept") << true;
}

void TestWorker::strictBrokerGetsPlainReadyAfterDisconnect()
{
    QFETCH(bool, heartbeatFirst);

    FakeBroker fake;
    WorkerOptions options;
    options.threads = 2;
    options.maxInFlight = 4;
    options.reconnectMin = 20ms;
    std::mutex logMutex;
    std::vector<std::string> logged;
    options.log = [&](std::string_view message) {
        std::lock_guard lock(logMutex);
        logged.emplace_back(message);
    };
    Worker worker(fake.endpoint(), "svc", options);
    worker.handle("add_one", addOne);
    worker.start();

    const auto first = fake.nextReadyMessage();
    QVERIFY(first);
    QCOMPARE(withoutIdentity(*first), (Message{"MDPW02", "\x01", "svc", "credit=4"}));
    if (heartbeatFirst) {
        fake.send(first->front(), mdp02::heartbeat());
    }
    fake.send(first->front(), mdp02::disconnect());

    const auto second = fake.nextReadyMessage();
    QVERIFY(second);
    QVERIFY(second->front() != first->front()); // a new socket
    if (heartbeatFirst) {
        QCOMPARE(withoutIdentity(*second), (Message{"MDPW02", "\x01", "svc", "credit=4"}));
        std::lock_guard lock(logMutex);
        QVERIFY(logged.empty());
        return;
    }
    QCOMPARE(withoutIdentity(*second), (Message{"MDPW02", "\x01", "svc"}));

    // Served as a plain MDP worker: one request, its answer, the next.
    for (int i = 0; i < 3; ++i) {
        fake.send(second->front(),
                  workerRequest("client-1", "rid-" + std::to_string(i), "add_one", packArgs(i)));
        const auto answer = fake.nextNotHeartbeat();
        QVERIFY(answer);
        QCOMPARE(*answer, (Message{second->front(), "MDPW02", "\x04", "client-1", "",
                                   "rid-" + std::to_string(i), kOk, pack(i + 1)}));
    }
    // From then on: a later registration is plain too, and the fallback was reported once.
    fake.send(second->front(), mdp02::disconnect());
    const auto third = fake.nextReadyMessage();
    QVERIFY(third);
    QCOMPARE(withoutIdentity(*third), (Message{"MDPW02", "\x01", "svc"}));
    std::lock_guard lock(logMutex);
    QCOMPARE(logged.size(), std::size_t(1));
    QVERIFY2(logged.front().find("credit=4") != std::string::npos, logged.front().c_str());
}

void TestWorker::brokerIgnoringCreditIsServedOneAtATime()
{
    // Like the zguide's mdbroker: it reads the service frame and ignores the rest, then gives
    // the worker one request at a time with the client's plain identity as address.
    FakeBroker fake;
    WorkerOptions options;
    options.threads = 2;
    options.maxInFlight = 8;
    Worker worker(fake.endpoint(), "svc", options);
    worker.handle("add_one", addOne);
    worker.start();
    const auto ready = fake.nextReadyMessage();
    QVERIFY(ready);
    QCOMPARE(ready->back(), std::string("credit=8"));

    for (int i = 0; i < 5; ++i) {
        const std::string client = "client-" + std::to_string(i % 2);
        fake.send(ready->front(),
                  workerRequest(client, "rid-" + std::to_string(i), "add_one", packArgs(10 * i)));
        const auto answer = fake.nextNotHeartbeat();
        QVERIFY(answer);
        QCOMPARE(*answer, (Message{ready->front(), "MDPW02", "\x04", client, "",
                                   "rid-" + std::to_string(i), kOk, pack(10 * i + 1)}));
    }
}

void TestWorker::stopAnswersRequestsWaitingForAThread()
{
    FakeBroker fake;
    WorkerOptions options;
    options.maxInFlight = 4; // threads = 1
    options.heartbeatInterval = 50ms;
    Worker worker(fake.endpoint(), "svc", options);
    Gate gate;
    worker.handle("block", [&gate](int n) { return gate.pass() ? n : -1; });
    worker.start();
    const auto id = fake.nextReady();
    QVERIFY(id);

    for (int i = 0; i < 4; ++i) {
        fake.send(*id, workerRequest("client-" + std::to_string(i), "rid-" + std::to_string(i),
                                     "block", packArgs(i)));
    }
    QVERIFY(gate.waitEntered(1));
    // While the only thread runs a handler, the heartbeat tick reads the socket before it sends
    // a HEARTBEAT. Two of them after the first request ran: the three sent with it (already in
    // the worker's TCP stream, ahead of anything later) have been read, and wait for the thread.
    // Without this, a stop() that came first would rightly leave them to the broker.
    for (int heartbeats = 0; heartbeats < 2;) {
        const auto message = fake.receive(5000ms);
        QVERIFY2(message, "no HEARTBEAT from the worker while its handler runs");
        QVERIFY2(FakeBroker::isCommand(*message, '\x05'), "only HEARTBEATs while it runs");
        ++heartbeats;
    }
    worker.stop();
    gate.open();

    // All four received are answered, and only then does the worker say DISCONNECT.
    std::set<int> answered;
    for (int i = 0; i < 4; ++i) {
        const auto answer = fake.nextNotHeartbeat();
        QVERIFY(answer);
        QVERIFY2(FakeBroker::isCommand(*answer, '\x04'), "a FINAL before the DISCONNECT");
        answered.insert(unpack<int>((*answer)[7]));
    }
    QCOMPARE(answered, (std::set<int>{0, 1, 2, 3}));
    const auto goodbye = fake.nextNotHeartbeat();
    QVERIFY(goodbye);
    QCOMPARE(withoutIdentity(*goodbye), mdp02::disconnect());
    worker.wait();
}

void TestWorker::stopWhileHandlerRunsStillAnswers()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "slow");
    Gate gate;
    worker.handle("block", [&gate] { return gate.pass(); });
    worker.start();

    Client client(broker.context(), broker.frontend());
    const std::string id = client.send("slow", "block", packArgs());
    QVERIFY(gate.waitEntered(1));

    worker.stop(); // returns at once; the handler is still inside
    auto waited = std::async(std::launch::async, [&worker] { worker.wait(); });
    QCOMPARE(waited.wait_for(0ms), std::future_status::timeout);
    gate.open();

    const auto reply = client.receive();
    QVERIFY_OK(reply);
    QCOMPARE(reply->requestId, id);
    QCOMPARE(waited.wait_for(5s), std::future_status::ready);
    // It said DISCONNECT: the broker forgot it without waiting for a missed heartbeat.
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(0), 2000);
    QCOMPARE(broker.counters().workersPurged, std::uint64_t(0));
}

void TestWorker::stopFromHandler()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "quit");
    worker.handle("quit", [&worker] {
        worker.stop();
        return std::string("bye");
    });
    auto ran = std::async(std::launch::async, [&worker] { worker.run(); });

    Client client(broker.context(), broker.frontend());
    const auto reply = client.call("quit", "quit", packArgs());
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<std::string>(), std::string("bye"));
    QCOMPARE(ran.wait_for(5s), std::future_status::ready);
    ran.get(); // run() returned normally
}

void TestWorker::stopOnIdleWorkerIsPrompt()
{
    TestBroker broker(quickConfig());
    WorkerOptions options;
    options.threads = 3;
    options.heartbeatInterval = 10s; // a poll timeout would show: stop must not wait for one
    Worker worker(broker.backend(), "idle", options);
    worker.handle("add_one", addOne);
    worker.start();
    // One session for all three threads (READY with credit=3): the broker knows one worker.
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);

    QElapsedTimer timer;
    timer.start();
    worker.stop();
    worker.wait();
    QVERIFY2(timer.elapsed() < 1000, qPrintable(QString::number(timer.elapsed())));
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(0), 2000);
}

void TestWorker::stopBeforeStartMakesRunReturn()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "never");
    worker.stop();
    QElapsedTimer timer;
    timer.start();
    worker.run();
    QVERIFY(timer.elapsed() < 1000);
    QCOMPARE(broker.counters().workersRegistered, std::uint64_t(0));
}

void TestWorker::contextShutdownEndsRun()
{
    TestBroker broker(quickConfig());
    zmq::context_t context;
    Worker worker(context, broker.backend(), "borrowed");
    worker.handle("add_one", addOne);
    auto ran = std::async(std::launch::async, [&worker] { worker.run(); });
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(1), 5000);

    context.shutdown(); // the owner of a borrowed context ends it: sessions see ETERM
    QCOMPARE(ran.wait_for(5s), std::future_status::ready);
    ran.get();
}

void TestWorker::reRegistersAfterBrokerRestart()
{
    // TestBroker::restart() binds again at once, but libzmq closes the old broker's listeners on
    // its I/O thread after zmq_close() returns, so that bind fails now and then ("address
    // already in use", about one run in ten here, for a few milliseconds). So the restart is
    // done by hand, retrying the bind until the old listeners are gone.
    zmq::context_t context;
    BrokerConfig config = quickConfig();
    config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    auto broker = std::make_unique<BrokerThread>(config, context);
    broker->start();
    config.frontendEndpoints = broker->frontendEndpoints();
    config.backendEndpoints = broker->backendEndpoints();
    const std::string frontend = config.frontendEndpoints.first().toStdString();

    WorkerOptions options;
    options.threads = 2;
    options.reconnectMin = 20ms;
    Worker worker(config.backendEndpoints.first().toStdString(), "phoenix", options);
    worker.handle("add_one", addOne);
    worker.start();
    {
        Client client(context, frontend);
        const auto reply = client.call("phoenix", "add_one", packArgs(1));
        QVERIFY_OK(reply);
    }

    broker->stop(); // says DISCONNECT to the workers; the next broker knows nobody
    broker.reset();
    const auto restarted = [&] { // idempotent: QTRY evaluates it again after it held
        if (broker) {
            return true;
        }
        try {
            broker = std::make_unique<BrokerThread>(config, context);
            broker->start();
            return true;
        } catch (const BindError&) {
            broker.reset();
            return false;
        }
    };
    QTRY_VERIFY_WITH_TIMEOUT(restarted(), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(broker->counters().workers, std::size_t(1), 5000); // one session

    Client client(context, frontend);
    const auto reply = client.call("phoenix", "add_one", packArgs(2));
    QVERIFY_OK(reply);
    QCOMPARE(reply->as<int>(), 3);
    worker.stop();
    worker.wait();
    broker->stop();
}

void TestWorker::reconnectsAfterDisconnect()
{
    FakeBroker fake;
    WorkerOptions options;
    options.reconnectMin = 20ms;
    Worker worker(fake.endpoint(), "svc", options);
    worker.handle("add_one", addOne);
    worker.start();

    const auto first = fake.nextReady();
    QVERIFY(first);
    fake.send(*first, mdp02::disconnect());
    const auto second = fake.nextReady();
    QVERIFY(second);
    QVERIFY(*second != *first); // a new socket, so a new session for the broker

    // The new session serves.
    fake.send(*second, {"MDPW02", "\x02", "client-1", "", "rid-1", "add_one", packArgs(1)});
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::optional<Message> answer;
    while (!answer && std::chrono::steady_clock::now() < deadline) {
        auto message = fake.receive(FakeBroker::left(deadline));
        if (message && FakeBroker::isCommand(*message, '\x04')) {
            answer = message;
        }
    }
    QVERIFY(answer);
    QCOMPARE((*answer)[0], *second);
    QCOMPARE(*answer, (Message{*second, "MDPW02", "\x04", "client-1", "", "rid-1", kOk, pack(2)}));
}

void TestWorker::reconnectsWhenBrokerFallsSilent()
{
    FakeBroker fake;
    WorkerOptions options;
    options.heartbeatInterval = 50ms;
    options.liveness = 3;
    options.reconnectMin = 20ms;
    Worker worker(fake.endpoint(), "svc", options);
    worker.start();

    const auto first = fake.nextReady();
    QVERIFY(first);
    // The fake broker never speaks: the session heartbeats while idle, then gives up on the
    // broker after liveness x interval and registers again on a new socket.
    int heartbeats = 0;
    std::optional<std::string> second;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!second && std::chrono::steady_clock::now() < deadline) {
        auto message = fake.receive(FakeBroker::left(deadline));
        if (!message) {
            break;
        }
        if (FakeBroker::isCommand(*message, '\x05') && (*message)[0] == *first) {
            ++heartbeats;
        } else if (FakeBroker::isCommand(*message, '\x01')) {
            second = (*message)[0];
        }
    }
    QVERIFY(second);
    QVERIFY(*second != *first);
    QVERIFY2(heartbeats >= 2, qPrintable(QString::number(heartbeats)));
}

void TestWorker::answerAfterSessionLostMidHandlerIsDropped_data()
{
    QTest::addColumn<bool>("disconnect"); // else the fake broker just falls silent
    QTest::addColumn<bool>("streaming");
    QTest::newRow("DISCONNECT, unary") << true << false;
    QTest::newRow("silence, unary") << false << false;
    QTest::newRow("DISCONNECT, streaming") << true << true;
}

void TestWorker::answerAfterSessionLostMidHandlerIsDropped()
{
    QFETCH(bool, disconnect);
    QFETCH(bool, streaming);

    FakeBroker fake;
    WorkerOptions options;
    options.heartbeatInterval = 50ms;
    options.liveness = 3;
    options.reconnectMin = 20ms;
    Worker worker(fake.endpoint(), "svc", options);
    Gate gate;
    std::atomic<bool> writeThrew{false};
    worker.handle("block", [&gate] { return gate.pass(); });
    worker.handleStream<int>("blockThenWrite", [&](StreamWriter& out) {
        gate.pass();
        try {
            out.write(1);
        } catch (const Error&) {
            writeThrew = true;
            throw;
        }
    });
    worker.start();

    const auto first = fake.nextReady();
    QVERIFY(first);
    fake.send(*first, {"MDPW02", "\x02", "client-1", "", "rid-1",
                       streaming ? "blockThenWrite" : "block", packArgs()});
    QVERIFY(gate.waitEntered(1));
    if (disconnect) {
        fake.send(*first, mdp02::disconnect());
    }

    // While the handler blocks, the heartbeat thread heartbeats for the session until it takes
    // the DISCONNECT in, or until the broker's silence outlasts the liveness; then the session
    // is lost and goes quiet. Once quiet, the test lets the handler finish.
    bool answered = false;
    bool released = false;
    std::optional<std::string> second;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!second && std::chrono::steady_clock::now() < deadline) {
        auto message = fake.receive(released ? FakeBroker::left(deadline) : 300ms);
        if (!message) {
            if (released) {
                break;
            }
            gate.open();
            released = true;
            continue;
        }
        answered = answered || FakeBroker::isCommand(*message, '\x03') ||
                   FakeBroker::isCommand(*message, '\x04');
        if (FakeBroker::isCommand(*message, '\x01')) {
            second = (*message)[0];
        }
    }
    QVERIFY(released);
    QVERIFY(second); // registered again on a new socket
    QVERIFY(*second != *first);
    QVERIFY(!answered); // the broker answered WorkerLost already: no stale PARTIAL or FINAL
    QCOMPARE(writeThrew.load(), streaming);
}

void TestWorker::invalidRegistrationsThrow()
{
    const std::string endpoint = "tcp://127.0.0.1:1"; // never connected to successfully
    Worker worker(endpoint, "svc");
    worker.handle("ok", addOne);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, worker.handle("ok", addOne));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, worker.handle("switchboard.mine", addOne));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             worker.handle(std::string(kDescribeMethod), addOne));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, worker.handle("", addOne));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, worker.handle("bad\nname", addOne));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, worker.handle(std::string(256, 'm'), addOne));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             worker.handleStream("ok", [](StreamWriter&) {}));
    detail::Handler empty; // neither unary nor streaming
    empty.info.name = "empty";
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, worker.addHandler(empty));

    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Worker(endpoint, ""));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Worker(endpoint, std::string(256, 's')));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Worker(endpoint, "tab\there"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Worker(endpoint, "mmi.service"));
    QVERIFY_THROWS_EXCEPTION(zmq::error_t, Worker("nonsense://x", "svc"));
    const auto withOptions = [&](auto change) {
        WorkerOptions options;
        change(options);
        Worker invalid(endpoint, "svc", options);
    };
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             withOptions([](WorkerOptions& o) { o.threads = 0; }));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             withOptions([](WorkerOptions& o) { o.threads = 1025; }));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             withOptions([](WorkerOptions& o) { o.maxInFlight = 0; }));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             withOptions([](WorkerOptions& o) { o.maxInFlight = -1; }));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             withOptions([](WorkerOptions& o) { o.maxInFlight = 1025; }));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, withOptions([](WorkerOptions& o) {
                                 o.threads = 4;
                                 o.maxInFlight = 3; // a fourth thread would never get a request
                             }));
    withOptions([](WorkerOptions& o) { o.maxInFlight = 1024; });
    withOptions([](WorkerOptions& o) {
        o.threads = 4;
        o.maxInFlight = 4;
    });
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             withOptions([](WorkerOptions& o) { o.liveness = 0; }));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             withOptions([](WorkerOptions& o) { o.heartbeatInterval = 0ms; }));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, withOptions([](WorkerOptions& o) {
                                 o.reconnectMax = o.reconnectMin / 2;
                             }));

    worker.start();
    QVERIFY_THROWS_EXCEPTION(std::logic_error, worker.handle("late", addOne));
    worker.stop();
    worker.wait();
    QVERIFY_THROWS_EXCEPTION(std::logic_error, worker.handle("later", addOne));
}

void TestWorker::lifecycleMisuseThrows()
{
    TestBroker broker(quickConfig());
    Worker worker(broker.backend(), "misuse");
    std::promise<std::string> waitFromHandler;
    worker.handle("wait", [&] {
        try {
            worker.wait();
            waitFromHandler.set_value("returned");
        } catch (const std::logic_error&) {
            waitFromHandler.set_value("logic_error");
        }
    });
    worker.start();
    QVERIFY_THROWS_EXCEPTION(std::logic_error, worker.start());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, worker.run());

    Client client(broker.context(), broker.frontend());
    const auto reply = client.call("misuse", "wait", packArgs());
    QVERIFY_OK(reply);
    auto result = waitFromHandler.get_future();
    QCOMPARE(result.wait_for(0s), std::future_status::ready);
    QCOMPARE(result.get(), std::string("logic_error"));
}

QTEST_GUILESS_MAIN(TestWorker)
#include "tst_worker.moc"
