// The broker through its sockets, with raw MDP peers that know nothing of our code.

#include "rawpeer.h"
#include "testbroker.h"

#include <QTest>

#include <map>
#include <random>
#include <set>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

Q_DECLARE_METATYPE(switchboard::test::Message)

namespace {

BrokerConfig fastConfig()
{
    BrokerConfig config;
    config.heartbeatInterval = 100ms;
    config.liveness = 3;
    config.requestTimeout = 2000ms;
    return config;
}

// A worker of either version that has registered, and the broker has seen it.
struct Worker {
    // `credit` > 0 adds the credit frame to READY (docs/PROTOCOL.md §11.1).
    Worker(TestBroker& broker, int mdpVersion, const std::string& service, int credit = 0)
        : peer(broker.context(), broker.backend())
        , version(mdpVersion)
    {
        Message ready = mdpVersion == 1 ? mdp01::ready(service) : mdp02::ready(service);
        if (credit > 0) {
            ready.push_back("credit=" + std::to_string(credit));
        }
        peer.send(ready);
    }

    // The next REQUEST, skipping heartbeats: returns {client address, body}.
    std::optional<std::pair<std::string, Message>>
    nextRequest(std::chrono::milliseconds timeout = 3000ms)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::max(std::chrono::steady_clock::duration::zero(),
                                       deadline - std::chrono::steady_clock::now());
            auto message =
                peer.receive(std::chrono::duration_cast<std::chrono::milliseconds>(left));
            if (!message) {
                return std::nullopt;
            }
            const std::size_t at = version == 1 ? 1 : 0; // 7/MDP starts with an empty frame
            if (message->size() >= at + 5 && (*message)[at + 1] == "\x02") {
                return std::pair{
                    (*message)[at + 2],
                    Message(message->begin() + static_cast<long>(at + 4), message->end())};
            }
        }
    }

    void reply(const std::string& client, const Message& body)
    {
        peer.send(version == 1 ? mdp01::reply(client, body) : mdp02::final(client, body));
    }

    void decline(const std::string& client)
    {
        peer.send(version == 1 ? mdp01::decline(client) : mdp02::decline(client));
    }

    // Waits for DISCONNECT, skipping heartbeats.
    bool disconnected(std::chrono::milliseconds timeout = 3000ms)
    {
        const std::string command = version == 1 ? "\x05" : "\x06";
        while (auto message = peer.receive(timeout)) {
            const std::size_t at = version == 1 ? 1 : 0;
            if (message->size() == at + 2 && (*message)[at + 1] == command) {
                return true;
            }
        }
        return false;
    }

    RawPeer peer;
    int version;
};

struct Client {
    Client(TestBroker& broker, int mdpVersion)
        : peer(broker.context(), broker.frontend())
        , version(mdpVersion)
    {}

    void request(const std::string& service, const Message& body)
    {
        peer.send(version == 1 ? mdp01::request(service, body) : mdp02::request(service, body));
    }

    // The next message's command ("REPLY", "PARTIAL", "FINAL"), service and body.
    struct Answer {
        std::string command;
        std::string service;
        Message body;
    };
    std::optional<Answer> receive(std::chrono::milliseconds timeout = 3000ms)
    {
        auto message = peer.receive(timeout);
        if (!message) {
            return std::nullopt;
        }
        if (version == 1) {
            if (message->size() < 4 || (*message)[0] != "" || (*message)[1] != "MDPC01") {
                return Answer{"INVALID", {}, *message};
            }
            return Answer{"REPLY", (*message)[2], Message(message->begin() + 3, message->end())};
        }
        if (message->size() < 4 || (*message)[0] != "MDPC02") {
            return Answer{"INVALID", {}, *message};
        }
        const char command = (*message)[1].empty() ? 0 : (*message)[1][0];
        return Answer{command == 2   ? "PARTIAL"
                      : command == 3 ? "FINAL"
                                     : "INVALID",
                      (*message)[2], Message(message->begin() + 3, message->end())};
    }

    RawPeer peer;
    int version;
};

Message call(const std::string& id, const std::string& method, const std::string& args)
{
    return {id, method, args};
}

#define QTRY_WORKERS(broker, n)                                                                    \
    QTRY_COMPARE_WITH_TIMEOUT((broker).counters().workers, std::size_t(n), 5000)

// Which of the workers receives the next REQUEST (-1 if none within the timeout).
int nextServedBy(std::vector<std::unique_ptr<Worker>>& workers, std::string& client)
{
    std::vector<zmq::pollitem_t> items;
    for (auto& worker : workers) {
        items.push_back({worker->peer.socket().handle(), 0, ZMQ_POLLIN, 0});
    }
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
        zmq::poll(items, 3000ms);
        for (std::size_t w = 0; w < workers.size(); ++w) {
            if (items[w].revents & ZMQ_POLLIN) {
                if (auto request = workers[w]->nextRequest(0ms)) {
                    client = request->first;
                    return static_cast<int>(w);
                }
            }
        }
    }
    return -1;
}

} // namespace

class TestBroker_ : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void requestReply_data();
    void requestReply();
    void reqSocketClient();
    void heartbeatsInTheWorkersVersion_data();
    void heartbeatsInTheWorkersVersion();
    void lruFairnessAcrossFourWorkers();
    void aWorkerWithCreditHoldsSeveralAndAnswersInAnyOrder_data();
    void aWorkerWithCreditHoldsSeveralAndAnswersInAnyOrder();
    void aDeclinedRequestIsAnsweredByAnotherWorker_data();
    void aDeclinedRequestIsAnsweredByAnotherWorker();
    void requestWaitsForLateWorker();
    void silentWorkerIsPurged();
    void silentWorkerWithRequestAnswersWorkerLost();
    void closedWorkerIsDroppedAtNextHeartbeat();
    void workerDisconnectMidRequestAnswersWorkerLost();
    void unknownServiceExpiresWithServiceUnavailable();
    void busyServiceExpires();
    void queueBoundAnswersQueueFull();
    void mmiEnvelope();
    void mmiRaw();
    void mmiWorkerIsRefused();
    void streamingArrivesInOrder();
    void streamingToV01ClientIsRejected();
    void protocolViolationsGetDisconnect_data();
    void protocolViolationsGetDisconnect();
    void malformedMessagesAreCountedAndBrokerServes();
    void everyWorkerMessageIsCountedOnce();
    void gracefulShutdownAnswersEverything();
};

void TestBroker_::requestReply_data()
{
    QTest::addColumn<int>("clientVersion");
    QTest::addColumn<int>("workerVersion");
    QTest::newRow("7/MDP client, 7/MDP worker") << 1 << 1;
    QTest::newRow("7/MDP client, 18/MDP worker") << 1 << 2;
    QTest::newRow("18/MDP client, 7/MDP worker") << 2 << 1;
    QTest::newRow("18/MDP client, 18/MDP worker") << 2 << 2;
}

void TestBroker_::requestReply()
{
    QFETCH(int, clientVersion);
    QFETCH(int, workerVersion);
    TestBroker broker(fastConfig());
    Worker worker(broker, workerVersion, "echo");
    QTRY_WORKERS(broker, 1);
    Client client(broker, clientVersion);

    const auto args = packArgs(std::string("hello"), 42);
    client.request("echo", call("id-1", "echo", args));
    const auto request = worker.nextRequest();
    QVERIFY(request);
    QCOMPARE(request->second, call("id-1", "echo", args)); // body passes through untouched
    worker.reply(request->first, {"id-1", kOk, pack(std::string("hello"))});

    const auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->command, std::string(clientVersion == 1 ? "REPLY" : "FINAL"));
    QCOMPARE(answer->service, std::string("echo"));
    QCOMPARE(answer->body, (Message{"id-1", kOk, pack(std::string("hello"))}));
}

void TestBroker_::reqSocketClient()
{
    // RFC 7's recommended client: a REQ socket adds and strips the empty frame itself.
    TestBroker broker(fastConfig());
    Worker worker(broker, 1, "echo");
    QTRY_WORKERS(broker, 1);
    zmq::socket_t req(broker.context(), zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::rcvtimeo, 3000);
    req.connect(broker.frontend());
    const Message request{"MDPC01", "echo", "id", "echo", packArgs(1)};
    for (std::size_t i = 0; i < request.size(); ++i) {
        req.send(zmq::buffer(request[i]),
                 i + 1 < request.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    const auto held = worker.nextRequest();
    QVERIFY(held);
    worker.reply(held->first, {"id", kOk, pack(2)});
    std::vector<zmq::message_t> reply;
    QVERIFY(zmq::recv_multipart(req, std::back_inserter(reply)));
    QCOMPARE(reply.size(), std::size_t(5));
    QCOMPARE(reply[0].to_string(), std::string("MDPC01"));
    QCOMPARE(reply[1].to_string(), std::string("echo"));
    QCOMPARE(reply[4].to_string(), pack(2));
}

void TestBroker_::heartbeatsInTheWorkersVersion_data()
{
    QTest::addColumn<int>("version");
    QTest::addColumn<Message>("heartbeat");
    QTest::newRow("7/MDP") << 1 << Message{"", "MDPW01", "\x04"};
    QTest::newRow("18/MDP") << 2 << Message{"MDPW02", "\x05"};
}

void TestBroker_::heartbeatsInTheWorkersVersion()
{
    QFETCH(int, version);
    QFETCH(Message, heartbeat);
    TestBroker broker(fastConfig()); // every 100 ms
    Worker worker(broker, version, "beat");
    QTRY_WORKERS(broker, 1);
    const auto received = worker.peer.receive(1000ms);
    QVERIFY2(received, "no heartbeat from the broker");
    QCOMPARE(*received, heartbeat);
}

void TestBroker_::lruFairnessAcrossFourWorkers()
{
    auto config = fastConfig();
    config.heartbeatInterval = 5000ms; // idle test workers send no heartbeats
    TestBroker broker(config);
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < 4; ++i) {
        workers.push_back(std::make_unique<Worker>(broker, 2, "echo"));
        QTRY_WORKERS(broker, static_cast<std::size_t>(i + 1)); // register in a known order
    }
    Client client(broker, 2);
    std::vector<int> servedBy;
    for (int n = 0; n < 40; ++n) {
        client.request("echo", call(std::to_string(n), "echo", packArgs(n)));
        std::string clientAddress;
        const int served = nextServedBy(workers, clientAddress);
        QVERIFY2(served >= 0, "a request was never dispatched");
        workers[static_cast<std::size_t>(served)]->reply(clientAddress,
                                                         {std::to_string(n), kOk, pack(n)});
        QVERIFY(client.receive());
        servedBy.push_back(served);
    }
    // Least recently used: strict rotation in the order the workers registered.
    for (std::size_t n = 0; n < servedBy.size(); ++n) {
        QCOMPARE(servedBy[n], static_cast<int>(n % 4));
    }
}

void TestBroker_::aWorkerWithCreditHoldsSeveralAndAnswersInAnyOrder_data()
{
    QTest::addColumn<int>("version");
    QTest::newRow("7/MDP") << 1;
    QTest::newRow("18/MDP") << 2;
}

void TestBroker_::aWorkerWithCreditHoldsSeveralAndAnswersInAnyOrder()
{
    QFETCH(int, version);
    auto config = fastConfig();
    config.heartbeatInterval = 5000ms; // the raw worker sends no heartbeats
    TestBroker broker(config);
    Worker worker(broker, version, "echo", 4);
    QTRY_WORKERS(broker, 1);
    Client client(broker, 2);
    for (int n = 0; n < 6; ++n) {
        client.request("echo", call("r" + std::to_string(n), "echo", packArgs(n)));
    }
    // Four at once, without any answer; two wait.
    std::vector<std::pair<std::string, Message>> held;
    for (int n = 0; n < 4; ++n) {
        auto request = worker.nextRequest();
        QVERIFY2(request, "the worker did not get up to its credit");
        held.push_back(std::move(*request));
    }
    QVERIFY(!worker.nextRequest(200ms));
    QTRY_COMPARE(broker.counters().queuedRequests, std::size_t(2));
    const auto snapshot = broker.snapshot();
    QCOMPARE(snapshot.workers.size(), qsizetype(1));
    QCOMPARE(snapshot.workers[0].inFlight, 4);
    QCOMPARE(snapshot.workers[0].capacity, 4);
    QVERIFY(snapshot.workers[0].state == WorkerStats::State::Busy);

    // Answers in reverse order, each with its own address: the client gets each under its id,
    // and each answer frees a place for a waiting request.
    std::set<std::string> addresses;
    for (auto it = held.rbegin(); it != held.rend(); ++it) {
        addresses.insert(it->first);
        worker.reply(it->first, {it->second[0], kOk, pack(it->second[0])});
    }
    QCOMPARE(addresses.size(), std::size_t(4));
    for (int n = 0; n < 2; ++n) {
        auto request = worker.nextRequest();
        QVERIFY(request);
        worker.reply(request->first, {request->second[0], kOk, pack(request->second[0])});
    }
    std::set<std::string> answered;
    for (int n = 0; n < 6; ++n) {
        const auto answer = client.receive();
        QVERIFY(answer);
        QCOMPARE(answer->command, std::string("FINAL"));
        QCOMPARE(answer->body.at(2), pack(answer->body.at(0))); // its own answer
        answered.insert(answer->body.at(0));
    }
    QCOMPARE(answered.size(), std::size_t(6));
    QTRY_COMPARE(broker.snapshot().workers.value(0).inFlight, 0);
}

void TestBroker_::aDeclinedRequestIsAnsweredByAnotherWorker_data()
{
    QTest::addColumn<int>("version");
    QTest::newRow("7/MDP") << 1;
    QTest::newRow("18/MDP") << 2;
}

// DECLINE on the wire (docs/PROTOCOL.md §11.2): the request moves on to the other worker, the
// client sees one answer, and the snapshot counts the decline.
void TestBroker_::aDeclinedRequestIsAnsweredByAnotherWorker()
{
    QFETCH(int, version);
    auto config = fastConfig();
    config.heartbeatInterval = 5000ms; // the raw workers send no heartbeats
    TestBroker broker(config);
    // One after the other, so that the first is first in line for work.
    Worker full(broker, version, "echo", 2);
    QTRY_WORKERS(broker, 1);
    Worker other(broker, version, "echo", 2);
    QTRY_WORKERS(broker, 2);
    Client client(broker, 2);
    client.request("echo", call("r0", "echo", packArgs(0)));
    const auto declined = full.nextRequest();
    QVERIFY(declined);
    full.decline(declined->first);
    const auto request = other.nextRequest();
    QVERIFY2(request, "the declined request did not reach the other worker");
    QCOMPARE(request->second.at(0), std::string("r0"));
    other.reply(request->first, {request->second[0], kOk, pack(request->second[0])});
    const auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body.at(0), std::string("r0"));
    QVERIFY(!client.receive(200ms));

    QTRY_COMPARE(broker.counters().workerDeclines, std::uint64_t(1));
    const auto snapshot = broker.snapshot();
    QCOMPARE(snapshot.totals.declined, std::uint64_t(1));
    QCOMPARE(snapshot.intake.workerDeclines, std::uint64_t(1));
    QCOMPARE(snapshot.totals.requeued, std::uint64_t(0));
    QCOMPARE(broker.counters().workersDisconnected, std::uint64_t(0));
    // The one that declined is full until its HEARTBEAT, though it holds nothing here.
    QCOMPARE(std::count_if(snapshot.workers.begin(), snapshot.workers.end(),
                           [](const WorkerStats& row) {
                               return row.state == WorkerStats::State::Busy && row.inFlight == 0;
                           }),
             1);
}

void TestBroker_::requestWaitsForLateWorker()
{
    TestBroker broker(fastConfig());
    Client client(broker, 2);
    client.request("late", call("r1", "m", packArgs()));
    QTRY_COMPARE(broker.counters().queuedRequests, std::size_t(1));
    Worker worker(broker, 2, "late");
    const auto request = worker.nextRequest();
    QVERIFY(request);
    worker.reply(request->first, {"r1", kOk, pack(1)});
    const auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body[0], std::string("r1"));
}

void TestBroker_::silentWorkerIsPurged()
{
    TestBroker broker(fastConfig()); // 100 ms x 3
    Worker worker(broker, 2, "quiet");
    QTRY_WORKERS(broker, 1);
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workers, std::size_t(0), 2000);
    QCOMPARE(broker.counters().workersPurged, std::uint64_t(1));
    // It also vanished from MMI.
    Client client(broker, 2);
    client.request("mmi.service", call("m", "mmi.service", packArgs(std::string("quiet"))));
    const auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(unpack<std::string>(answer->body[2]), std::string("404"));
}

void TestBroker_::silentWorkerWithRequestAnswersWorkerLost()
{
    TestBroker broker(fastConfig());
    Worker worker(broker, 1, "hang");
    QTRY_WORKERS(broker, 1);
    Client client(broker, 2);
    client.request("hang", call("r-lost", "m", packArgs()));
    QVERIFY(worker.nextRequest());
    // The worker now says nothing at all: after 3 missed heartbeats the request is lost.
    const auto answer = client.receive(3000ms);
    QVERIFY(answer);
    QCOMPARE(answer->command, std::string("FINAL"));
    QCOMPARE(answer->body[0], std::string("r-lost"));
    QCOMPARE(answer->body[1], kError);
    QCOMPARE(unpackError(answer->body[2]).type, std::string("WorkerLost"));
}

void TestBroker_::closedWorkerIsDroppedAtNextHeartbeat()
{
    auto config = fastConfig();
    config.liveness = 100; // 10 s: far longer than the test may wait
    TestBroker broker(config);
    Client client(broker, 2);
    {
        Worker worker(broker, 2, "crash");
        QTRY_WORKERS(broker, 1);
        client.request("crash", call("r-crash", "m", packArgs()));
        QVERIFY(worker.nextRequest());
    } // the worker's socket closes here, as when its process dies
    const auto answer = client.receive(2000ms);
    QVERIFY2(answer, "a dead worker's request waited for the liveness instead of the heartbeat");
    QCOMPARE(answer->body[0], std::string("r-crash"));
    QCOMPARE(unpackError(answer->body[2]).type, std::string("WorkerLost"));
    QCOMPARE(broker.counters().workers, std::size_t(0));
}

void TestBroker_::workerDisconnectMidRequestAnswersWorkerLost()
{
    TestBroker broker(fastConfig());
    Worker worker(broker, 2, "quit");
    QTRY_WORKERS(broker, 1);
    Client client(broker, 1);
    client.request("quit", call("r", "m", packArgs()));
    QVERIFY(worker.nextRequest());
    worker.peer.send(mdp02::disconnect());
    const auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->command, std::string("REPLY"));
    QCOMPARE(unpackError(answer->body[2]).type, std::string("WorkerLost"));
    QCOMPARE(broker.counters().workers, std::size_t(0));
}

void TestBroker_::unknownServiceExpiresWithServiceUnavailable()
{
    auto config = fastConfig();
    config.requestTimeout = 200ms;
    TestBroker broker(config);
    Client client(broker, 2);
    const auto sent = std::chrono::steady_clock::now();
    client.request("nosuch", call("r-404", "m", packArgs()));
    const auto answer = client.receive();
    QVERIFY(answer);
    QVERIFY(std::chrono::steady_clock::now() - sent >= 200ms);
    QCOMPARE(answer->service, std::string("nosuch"));
    QCOMPARE(answer->body[0], std::string("r-404"));
    QCOMPARE(answer->body[1], kError);
    const auto error = unpackError(answer->body[2]);
    QCOMPARE(error.type, std::string("ServiceUnavailable"));
    QVERIFY2(error.message.find("nosuch") != std::string::npos, error.message.c_str());
    // Nothing is kept for a service that never existed.
    QTRY_COMPARE(broker.counters().services, std::size_t(0));
}

void TestBroker_::busyServiceExpires()
{
    auto config = fastConfig();
    config.requestTimeout = 200ms;
    TestBroker broker(config);
    Worker worker(broker, 2, "busy");
    QTRY_WORKERS(broker, 1);
    Client client(broker, 2);
    client.request("busy", call("first", "m", packArgs()));
    const auto held = worker.nextRequest();
    QVERIFY(held);
    client.request("busy", call("second", "m", packArgs()));
    // Keep the worker alive while it holds the first request.
    std::optional<Client::Answer> answer;
    for (int i = 0; i < 20 && !answer; ++i) {
        worker.peer.send(mdp02::heartbeat());
        answer = client.receive(50ms);
    }
    QVERIFY(answer);
    QCOMPARE(answer->body[0], std::string("second"));
    QCOMPARE(unpackError(answer->body[2]).type, std::string("Expired"));
    // The held request still completes normally.
    worker.reply(held->first, {"first", kOk, pack(1)});
    const auto first = client.receive();
    QVERIFY(first);
    QCOMPARE(first->body[0], std::string("first"));
    QCOMPARE(first->body[1], kOk);
}

void TestBroker_::queueBoundAnswersQueueFull()
{
    auto config = fastConfig();
    config.maxQueuePerService = 2;
    config.requestTimeout = 300ms;
    TestBroker broker(config);
    Client client(broker, 2);
    for (int i = 0; i < 3; ++i) {
        client.request("absent", call("q" + std::to_string(i), "m", packArgs()));
    }
    const auto full = client.receive();
    QVERIFY(full);
    QCOMPARE(full->body[0], std::string("q2"));
    QCOMPARE(unpackError(full->body[2]).type, std::string("QueueFull"));
    for (const char* id : {"q0", "q1"}) {
        const auto expired = client.receive();
        QVERIFY(expired);
        QCOMPARE(expired->body[0], std::string(id));
        QCOMPARE(unpackError(expired->body[2]).type, std::string("ServiceUnavailable"));
    }
    QCOMPARE(broker.counters().queueFull, std::uint64_t(1));
}

void TestBroker_::mmiEnvelope()
{
    TestBroker broker(fastConfig());
    Worker a(broker, 2, "alpha");
    Worker b1(broker, 1, "beta");
    Worker b2(broker, 2, "beta");
    QTRY_WORKERS(broker, 3);
    Client client(broker, 2);

    client.request("mmi.service", call("1", "mmi.service", packArgs(std::string("beta"))));
    auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body[1], kOk);
    QCOMPARE(unpack<std::string>(answer->body[2]), std::string("200"));

    client.request("mmi.service", call("2", "mmi.service", packArgs(std::string("gamma"))));
    answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(unpack<std::string>(answer->body[2]), std::string("404"));

    client.request("mmi.services", call("3", "mmi.services", packArgs()));
    answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(unpack<std::vector<std::string>>(answer->body[2]),
             (std::vector<std::string>{"alpha", "beta"}));

    client.request("mmi.workers", call("4", "mmi.workers", packArgs()));
    answer = client.receive();
    QVERIFY(answer);
    const auto counts = unpack<std::map<std::string, int>>(answer->body[2]);
    QCOMPARE(counts, (std::map<std::string, int>{{"alpha", 1}, {"beta", 2}}));

    client.request("mmi.bogus", call("5", "mmi.bogus", packArgs()));
    answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body[0], std::string("5"));
    QCOMPARE(answer->body[1], kError);
    QCOMPARE(unpackError(answer->body[2]).type, std::string("NotImplemented"));
}

void TestBroker_::mmiRaw()
{
    TestBroker broker(fastConfig());
    Worker a(broker, 2, "alpha");
    QTRY_WORKERS(broker, 1);
    Client client(broker, 1); // an RFC 8 client: the body is just the service name

    client.request("mmi.service", {"alpha"});
    auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->service, std::string("mmi.service"));
    QCOMPARE(answer->body, (Message{"200"}));

    client.request("mmi.service", {"nobody"});
    answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body, (Message{"404"}));

    client.request("mmi.services", {""});
    answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body, (Message{"200", "alpha"}));

    client.request("mmi.workers", {""});
    answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body, (Message{"200", "alpha", "1"}));

    client.request("mmi.nothing", {"x"});
    answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body, (Message{"501"}));
}

void TestBroker_::mmiWorkerIsRefused()
{
    TestBroker broker(fastConfig());
    Worker impostor(broker, 2, "mmi.service");
    QVERIFY(impostor.disconnected());
    QCOMPARE(broker.counters().workers, std::size_t(0));
}

void TestBroker_::streamingArrivesInOrder()
{
    TestBroker broker(fastConfig());
    Worker worker(broker, 2, "stream");
    QTRY_WORKERS(broker, 1);
    Client client(broker, 2);
    client.request("stream", call("s", "count", packArgs(100)));
    const auto request = worker.nextRequest();
    QVERIFY(request);
    for (int i = 0; i < 100; ++i) {
        worker.peer.send(mdp02::partial(request->first, {"s", kOk, pack(i)}));
    }
    worker.peer.send(mdp02::final(request->first, {"s", kOk, pack(msgpack::type::nil_t())}));
    for (int i = 0; i < 100; ++i) {
        const auto item = client.receive();
        QVERIFY(item);
        QCOMPARE(item->command, std::string("PARTIAL"));
        QCOMPARE(unpack<int>(item->body[2]), i);
    }
    const auto end = client.receive();
    QVERIFY(end);
    QCOMPARE(end->command, std::string("FINAL"));
    QCOMPARE(broker.counters().partialsDelivered, std::uint64_t(100));
}

void TestBroker_::streamingToV01ClientIsRejected()
{
    TestBroker broker(fastConfig());
    Worker worker(broker, 2, "stream");
    QTRY_WORKERS(broker, 1);
    Client client(broker, 1);
    client.request("stream", call("s", "count", packArgs(3)));
    auto request = worker.nextRequest();
    QVERIFY(request);
    for (int i = 0; i < 3; ++i) {
        worker.peer.send(mdp02::partial(request->first, {"s", kOk, pack(i)}));
    }
    worker.peer.send(mdp02::final(request->first, {"s", kOk, pack(msgpack::type::nil_t())}));
    const auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body[0], std::string("s"));
    QCOMPARE(unpackError(answer->body[2]).type, std::string("StreamingUnsupported"));

    // Nothing else of that stream may reach the client: the next thing it gets is the answer
    // to its next request, served by the same worker (which is free again).
    client.request("stream", call("t", "echo", packArgs(1)));
    request = worker.nextRequest();
    QVERIFY(request);
    worker.reply(request->first, {"t", kOk, pack(1)});
    const auto next = client.receive();
    QVERIFY(next);
    QCOMPARE(next->body[0], std::string("t"));
    QCOMPARE(next->body[1], kOk);
}

void TestBroker_::protocolViolationsGetDisconnect_data()
{
    QTest::addColumn<int>("violation");
    QTest::newRow("READY twice") << 0;
    QTest::newRow("FINAL without a request") << 1;
    QTest::newRow("HEARTBEAT before READY") << 2;
    QTest::newRow("switches to 7/MDP mid-session") << 3;
}

void TestBroker_::protocolViolationsGetDisconnect()
{
    QFETCH(int, violation);
    TestBroker broker(fastConfig());
    RawPeer peer(broker.context(), broker.backend());
    if (violation != 2) {
        peer.send(mdp02::ready("svc"));
        QTRY_WORKERS(broker, 1);
    }
    switch (violation) {
    case 0:
        peer.send(mdp02::ready("svc"));
        break;
    case 1:
        peer.send(mdp02::final("nobody", {"x", kOk, pack(1)}));
        break;
    case 2:
        peer.send(mdp02::heartbeat());
        break;
    case 3:
        peer.send(mdp01::heartbeat());
        break;
    }
    bool disconnected = false;
    while (auto message = peer.receive(2000ms)) {
        if (*message == Message{"MDPW02", "\x06"}) {
            disconnected = true;
            break;
        }
    }
    QVERIFY(disconnected);
    QTRY_COMPARE(broker.counters().workers, std::size_t(0));
    QVERIFY(broker.counters().workersDisconnected >= 1);
}

void TestBroker_::malformedMessagesAreCountedAndBrokerServes()
{
    TestBroker broker(fastConfig());
    std::mt19937 random(20261122);
    const std::vector<Message> valid = {
        mdp01::request("svc", {"id", "m", packArgs(1)}),
        mdp02::request("svc", {"id", "m", packArgs(1)}),
        mdp01::ready("svc"),
        mdp02::ready("svc"),
        mdp02::final("client", {"id", kOk, pack(1)}),
        mdp01::reply("client", {"id", kOk, pack(1)}),
        mdp02::heartbeat(),
    };
    const auto randomBytes = [&](std::size_t max) {
        std::string bytes(random() % (max + 1), '\0');
        for (auto& byte : bytes) {
            byte = static_cast<char>(random());
        }
        return bytes;
    };
    const auto malformed = [&]() {
        Message message = valid[random() % valid.size()];
        switch (random() % 4) {
        case 0: // cut short
            message.resize(random() % message.size());
            break;
        case 1: // one frame replaced by noise
            message[random() % message.size()] = randomBytes(8);
            break;
        case 2: // the command byte turned into something else
            message[random() % message.size()] = std::string(1, static_cast<char>(random()));
            break;
        default: // pure noise
            message.clear();
            for (std::size_t n = random() % 6; n > 0; --n) {
                message.push_back(randomBytes(12));
            }
        }
        if (message.empty()) {
            message.push_back(randomBytes(3));
        }
        return message;
    };

    {
        // Several peers on each side, so identities vary too.
        std::vector<std::unique_ptr<RawPeer>> peers;
        for (int i = 0; i < 4; ++i) {
            peers.push_back(std::make_unique<RawPeer>(broker.context(), broker.frontend()));
            peers.push_back(std::make_unique<RawPeer>(broker.context(), broker.backend()));
        }
        for (int i = 0; i < 1000; ++i) {
            peers[static_cast<std::size_t>(i) % peers.size()]->send(malformed());
        }
        // Every one of them is either counted as malformed or handled as a valid message.
        QTRY_VERIFY_WITH_TIMEOUT(broker.counters().malformedTotal() > 200, 5000);
    }

    // And real peers are still served.
    Worker worker(broker, 2, "after");
    QTRY_VERIFY(broker.counters().workers >= 1);
    Client client(broker, 2);
    client.request("after", call("ok", "echo", packArgs(7)));
    const auto request = worker.nextRequest();
    QVERIFY(request);
    worker.reply(request->first, {"ok", kOk, pack(7)});
    const auto answer = client.receive();
    QVERIFY(answer);
    QCOMPARE(answer->body, (Message{"ok", kOk, pack(7)}));
}

// A DISCONNECT from a worker the broker did not know, and one from a registered worker, used to
// leave no count at all: the backend's intake did not add up to what it read (found by
// tst_hostileinput). Now each message lands in exactly one bucket.
void TestBroker_::everyWorkerMessageIsCountedOnce()
{
    TestBroker broker(fastConfig());
    RawPeer peer(broker.context(), broker.backend(), "w-1");
    RawPeer reserved(broker.context(), broker.backend(), "w-2");
    RawPeer client(broker.context(), broker.frontend(), "c-1");
    const auto disconnected = [](RawPeer& from) {
        while (auto message = from.receive(2000ms)) {
            if (message->size() >= 2 && (*message)[1] == "\x06") {
                return true;
            }
        }
        return false;
    };

    peer.send(mdp02::disconnect()); // unknown: ignored
    QTRY_COMPARE(broker.counters().workerMessagesIgnored, std::uint64_t(1));
    peer.send(mdp02::heartbeat()); // unknown: refused
    QVERIFY(disconnected(peer));
    peer.send(mdp02::ready("svc"));
    QTRY_WORKERS(broker, 1);
    peer.send(mdp02::heartbeat());
    QTRY_COMPARE(broker.counters().workerHeartbeats, std::uint64_t(1));
    client.send(mdp02::request("svc", {"id-1", "m", packArgs(1)}));
    std::optional<Message> request;
    while ((request = peer.receive(2000ms)) && (*request)[1] != "\x02") {
    }
    QVERIFY(request);
    peer.send(mdp02::final((*request)[2], {"id-1", kOk, pack(1)}));
    QVERIFY(client.receive());
    peer.send(mdp01::heartbeat()); // another version: refused
    QVERIFY(disconnected(peer));
    peer.send(mdp02::ready("svc"));
    QTRY_WORKERS(broker, 1);
    peer.send(mdp02::disconnect()); // registered: left
    QTRY_WORKERS(broker, 0);
    reserved.send(mdp02::ready("mmi.service")); // refused
    QVERIFY(disconnected(reserved));
    reserved.send({"MDPW02", "\x09"}); // malformed
    QTRY_COMPARE(broker.counters().malformedFromWorkers, std::uint64_t(1));

    const BrokerCounters counts = broker.counters();
    QCOMPARE(counts.workerMessages, std::uint64_t(10));
    QCOMPARE(counts.workerMessagesIgnored, std::uint64_t(1));
    QCOMPARE(counts.workerMessagesRefused, std::uint64_t(3));
    QCOMPARE(counts.workersRegistered, std::uint64_t(2));
    QCOMPARE(counts.workerHeartbeats, std::uint64_t(1));
    QCOMPARE(counts.workerAnswers, std::uint64_t(1));
    QCOMPARE(counts.workersLeft, std::uint64_t(1));
    QCOMPARE(counts.malformedFromWorkers, std::uint64_t(1));
    QCOMPARE(counts.clientMessages, std::uint64_t(1));
    QCOMPARE(counts.requestsReceived, std::uint64_t(1));
    // The snapshot says the same to a remote reader.
    const MessageIntake intake = broker.snapshot().intake;
    QCOMPARE(intake.workerMessages, counts.workerMessages);
    QCOMPARE(intake.workerMalformed + intake.workerReady + intake.workerHeartbeats +
                 intake.workerAnswers + intake.workerDeclines + intake.workerLeft +
                 intake.workerRefused + intake.workerIgnored,
             intake.workerMessages);
}

void TestBroker_::gracefulShutdownAnswersEverything()
{
    auto config = fastConfig();
    config.heartbeatInterval = 1000ms;
    TestBroker broker(config);
    Worker worker(broker, 2, "slow");
    QTRY_WORKERS(broker, 1);
    Client client(broker, 2);
    client.request("slow", call("in-flight", "m", packArgs()));
    QVERIFY(worker.nextRequest());
    client.request("slow", call("queued", "m", packArgs()));
    QTRY_COMPARE(broker.counters().queuedRequests, std::size_t(1));

    broker.stop();

    std::set<std::string> answered;
    for (int i = 0; i < 2; ++i) {
        const auto answer = client.receive();
        QVERIFY(answer);
        QCOMPARE(answer->body[1], kError);
        QCOMPARE(unpackError(answer->body[2]).type, std::string("BrokerShutdown"));
        answered.insert(answer->body[0]);
    }
    QCOMPARE(answered, (std::set<std::string>{"in-flight", "queued"}));
    QVERIFY(worker.disconnected());
}

QTEST_GUILESS_MAIN(TestBroker_)
#include "tst_broker.moc"
