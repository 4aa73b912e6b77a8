// Every request ends exactly once: deadlines from the options frame, re-dispatch of idempotent
// requests whose worker died, WorkerLost for the others, late replies dropped. Raw MDP peers
// (rawpeer.h) on an in-process broker, so the test reads the wire, not our codec.

#include "rawpeer.h"
#include "testbroker.h"

#include <QTest>

#include <map>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// The options frame of docs/PROTOCOL.md §6, written by hand.
std::string optionsFrame(std::optional<std::uint32_t> timeoutMs, bool idempotent)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(timeoutMs ? 2 : 1);
    if (timeoutMs) {
        packer.pack(std::string("timeout_ms"));
        packer.pack(*timeoutMs);
    }
    packer.pack(std::string("idempotent"));
    packer.pack(idempotent);
    return std::string(buffer.data(), buffer.size());
}

Message body(const std::string& id, const std::string& options = {})
{
    Message m{id, "work", packArgs(std::string(id))};
    if (!options.empty()) {
        m.push_back(options);
    }
    return m;
}

// An 18/MDP worker with an identity of its own, so the test can evict it by name.
struct Worker {
    Worker(TestBroker& broker, const std::string& identity, const std::string& service = "svc")
        : name(identity)
        , peer(std::make_unique<RawPeer>(broker.context(), broker.backend(), identity))
    {
        peer->send(mdp02::ready(service));
    }

    // The next REQUEST, skipping heartbeats: {client address, body}.
    std::optional<std::pair<std::string, Message>> nextRequest(std::chrono::milliseconds timeout)
    {
        const auto deadline = Clock::now() + timeout;
        while (auto message = peer->receive(std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::max(Clock::duration::zero(), deadline - Clock::now())))) {
            if (message->size() >= 5 && (*message)[1] == "\x02") {
                return std::pair{(*message)[2], Message(message->begin() + 4, message->end())};
            }
        }
        return std::nullopt;
    }

    // Waits for DISCONNECT, skipping heartbeats and requests.
    bool disconnected(std::chrono::milliseconds timeout)
    {
        const auto deadline = Clock::now() + timeout;
        while (auto message = peer->receive(std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::max(Clock::duration::zero(), deadline - Clock::now())))) {
            if (message->size() == 2 && (*message)[1] == "\x06") {
                return true;
            }
        }
        return false;
    }

    void reply(const std::string& client, const std::string& id)
    {
        peer->send(mdp02::final(client, {id, kOk, pack(std::string("done by ") + name)}));
    }

    std::string name;
    std::unique_ptr<RawPeer> peer;
};

struct Client {
    explicit Client(TestBroker& broker)
        : peer(broker.context(), broker.frontend())
    {}

    void request(const Message& requestBody, const std::string& service = "svc")
    {
        peer.send(mdp02::request(service, requestBody));
    }

    // The next FINAL's body, or nullopt.
    std::optional<Message> answer(std::chrono::milliseconds timeout = 5000ms)
    {
        auto message = peer.receive(timeout);
        if (!message || message->size() < 4 || (*message)[0] != "MDPC02") {
            return std::nullopt;
        }
        return Message(message->begin() + 3, message->end());
    }

    RawPeer peer;
};

std::string errorType(const Message& answer)
{
    return answer.size() == 3 && answer[1] == kError ? unpackError(answer[2]).type : "OK";
}

#define QTRY_WORKERS(broker, n)                                                                    \
    QTRY_COMPARE_WITH_TIMEOUT((broker).counters().workers, std::size_t(n), 5000)

// Idle raw workers send no heartbeats: a long interval keeps them registered for the test.
BrokerConfig patientConfig()
{
    BrokerConfig config;
    config.heartbeatInterval = 5000ms;
    config.requestTimeout = 10000ms;
    return config;
}

} // namespace

class TestReliability : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void optionsTimeoutExpiresWaitingRequest();
    void expiredRequestIsNeverDispatchedToALateWorker();
    void malformedOptionsAreMalformedRequest_data();
    void malformedOptionsAreMalformedRequest();
    void unknownOptionKeysAreIgnored();
    void idempotentRequestGoesToAnotherWorker_data();
    void idempotentRequestGoesToAnotherWorker();
    void nonIdempotentRequestIsNeverSentTwice();
    void maxAttemptsBoundsRedispatch();
    void streamedRequestIsNotRedispatched();
    void lateReplyOfPurgedWorkerIsDroppedAndCounted();
};

void TestReliability::optionsTimeoutExpiresWaitingRequest()
{
    TestBroker broker(patientConfig()); // --request-timeout 10 s: the client's 300 ms wins
    Worker busy(broker, "busy");
    QTRY_WORKERS(broker, 1);
    Client client(broker);
    client.request(body("first"));
    const auto held = busy.nextRequest(5000ms);
    QVERIFY(held);

    const auto sent = Clock::now();
    client.request(body("second", optionsFrame(300, false)));
    const auto answer = client.answer();
    const auto waited = Clock::now() - sent;
    QVERIFY(answer);
    QCOMPARE((*answer)[0], std::string("second"));
    QCOMPARE(errorType(*answer), std::string("Expired"));
    QVERIFY2(unpackError((*answer)[2]).message.find("300 ms") != std::string::npos,
             unpackError((*answer)[2]).message.c_str());
    QVERIFY2(waited >= 290ms, "answered before its deadline");
    QVERIFY2(waited < 3000ms, "the expiry timer did not answer at the deadline");
    QCOMPARE(broker.counters().expired, std::uint64_t(1));

    // The worker, free again, is not handed the expired request.
    busy.reply(held->first, "first");
    QCOMPARE((*client.answer())[0], std::string("first"));
    QVERIFY(!busy.nextRequest(300ms));
    QCOMPARE(broker.counters().requestsDispatched, std::uint64_t(1));
}

void TestReliability::expiredRequestIsNeverDispatchedToALateWorker()
{
    TestBroker broker(patientConfig());
    Client client(broker);
    client.request(body("early", optionsFrame(200, true)));
    // No worker at all: ServiceUnavailable at the client's deadline, not the broker's 10 s.
    const auto answer = client.answer(3000ms);
    QVERIFY(answer);
    QCOMPARE(errorType(*answer), std::string("ServiceUnavailable"));
    Worker late(broker, "late");
    QTRY_WORKERS(broker, 1);
    QVERIFY2(!late.nextRequest(300ms), "an expired request was dispatched");
    QCOMPARE(broker.counters().requestsDispatched, std::uint64_t(0));
}

void TestReliability::malformedOptionsAreMalformedRequest_data()
{
    QTest::addColumn<std::string>("options");
    QTest::newRow("not msgpack") << std::string("\xc1");
    QTest::newRow("an array") << packArgs(1, 2);
    QTest::newRow("timeout a string")
        << pack(std::map<std::string, std::string>{{"timeout_ms", "5"}});
    QTest::newRow("timeout 0") << pack(std::map<std::string, int>{{"timeout_ms", 0}});
    QTest::newRow("timeout negative") << pack(std::map<std::string, int>{{"timeout_ms", -5}});
    QTest::newRow("idempotent an integer") << pack(std::map<std::string, int>{{"idempotent", 1}});
    QTest::newRow("empty frame") << std::string();
}

void TestReliability::malformedOptionsAreMalformedRequest()
{
    QFETCH(std::string, options);
    TestBroker broker(patientConfig());
    Worker worker(broker, "w");
    QTRY_WORKERS(broker, 1);
    Client client(broker);
    Message request = body("bad-options");
    request.push_back(options);
    client.request(request);
    const auto answer = client.answer();
    QVERIFY(answer);
    QCOMPARE((*answer)[0], std::string("bad-options")); // correlatable: the id is echoed
    QCOMPARE(errorType(*answer), std::string("MalformedRequest"));
    QCOMPARE(broker.counters().malformedFromClients, std::uint64_t(1));
    QVERIFY(!worker.nextRequest(200ms));
}

void TestReliability::unknownOptionKeysAreIgnored()
{
    TestBroker broker(patientConfig());
    Worker worker(broker, "w");
    QTRY_WORKERS(broker, 1);
    Client client(broker);
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(3);
    packer.pack(std::string("priority"));
    packer.pack(std::vector<int>{1, 2});
    packer.pack(7); // a key that is not a string
    packer.pack(std::string("x"));
    packer.pack(std::string("timeout_ms"));
    packer.pack(5000);
    const Message request = body("future", std::string(buffer.data(), buffer.size()));
    client.request(request);
    const auto held = worker.nextRequest(5000ms);
    QVERIFY(held);
    QCOMPARE(held->second, request); // the worker gets the options frame untouched
    worker.reply(held->first, "future");
    QCOMPARE(errorType(*client.answer()), std::string("OK"));
}

void TestReliability::idempotentRequestGoesToAnotherWorker_data()
{
    QTest::addColumn<QString>("death");
    QTest::newRow("evicted") << QStringLiteral("evict");
    // Noticed through the socket monitor, long before the 15 s of missed heartbeats.
    QTest::newRow("connection closed") << QStringLiteral("close");
    QTest::newRow("silent") << QStringLiteral("silent");
}

void TestReliability::idempotentRequestGoesToAnotherWorker()
{
    QFETCH(QString, death);
    BrokerConfig config = patientConfig();
    if (death == QLatin1String("silent")) {
        config.heartbeatInterval = 100ms; // purged after 300 ms
    }
    TestBroker broker(config);
    Worker first(broker, "first");
    QTRY_WORKERS(broker, 1);
    Client client(broker);
    client.request(body("job", optionsFrame(std::nullopt, true)));
    const auto held = first.nextRequest(5000ms);
    QVERIFY(held);
    std::unique_ptr<Worker> second;
    if (death == QLatin1String("silent")) {
        // Registered once the first is purged: a raw worker sends no heartbeats, so one that
        // registered together with the first would be purged in the same tick. The request
        // waits in the queue meanwhile.
        QTRY_COMPARE_WITH_TIMEOUT(broker.counters().workersPurged, std::uint64_t(1), 5000);
        second = std::make_unique<Worker>(broker, "second");
    } else {
        second = std::make_unique<Worker>(broker, "second");
        QTRY_WORKERS(broker, 2);
        if (death == QLatin1String("evict")) {
            QVERIFY(broker.evictWorker("first"));
        } else {
            first.peer.reset();
        }
    }
    const auto again = second->nextRequest(5000ms);
    QVERIFY2(again, "the request was not dispatched to the second worker");
    QCOMPARE(again->second, body("job", optionsFrame(std::nullopt, true)));
    second->reply(again->first, "job");

    const auto answer = client.answer();
    QVERIFY(answer);
    QCOMPARE(errorType(*answer), std::string("OK"));
    QCOMPARE(unpack<std::string>((*answer)[2]), std::string("done by second"));
    QVERIFY2(!client.answer(300ms), "answered twice");
    const BrokerCounters counters = broker.counters();
    QCOMPARE(counters.requeued, std::uint64_t(1));
    QCOMPARE(counters.requestsDispatched, std::uint64_t(2));
    QCOMPARE(counters.workerLost, std::uint64_t(0));
}

void TestReliability::nonIdempotentRequestIsNeverSentTwice()
{
    TestBroker broker(patientConfig());
    Worker first(broker, "first");
    QTRY_WORKERS(broker, 1);
    Worker second(broker, "second");
    QTRY_WORKERS(broker, 2);
    Client client(broker);
    client.request(body("once", optionsFrame(5000, false)));
    const auto held = first.nextRequest(5000ms);
    QVERIFY(held);
    QVERIFY(broker.evictWorker("first"));
    const auto answer = client.answer();
    QVERIFY(answer);
    QCOMPARE((*answer)[0], std::string("once"));
    QCOMPARE(errorType(*answer), std::string("WorkerLost"));
    QVERIFY2(!second.nextRequest(300ms), "a request not marked idempotent was sent again");
    QCOMPARE(broker.counters().requeued, std::uint64_t(0));
}

void TestReliability::maxAttemptsBoundsRedispatch()
{
    BrokerConfig config = patientConfig();
    config.maxAttempts = 2;
    TestBroker broker(config);
    std::vector<std::unique_ptr<Worker>> workers;
    for (const char* name : {"w1", "w2", "w3"}) {
        workers.push_back(std::make_unique<Worker>(broker, name));
        QTRY_WORKERS(broker, workers.size()); // registered in this order: w1 is served first
    }
    Client client(broker);
    client.request(body("twice", optionsFrame(std::nullopt, true)));
    QVERIFY(workers[0]->nextRequest(5000ms));
    QVERIFY(broker.evictWorker("w1"));
    QVERIFY2(workers[1]->nextRequest(5000ms), "no second attempt");
    QVERIFY(broker.evictWorker("w2"));
    const auto answer = client.answer();
    QVERIFY(answer);
    QCOMPARE(errorType(*answer), std::string("WorkerLost"));
    QVERIFY2(unpackError((*answer)[2]).message.find("2 attempts") != std::string::npos,
             unpackError((*answer)[2]).message.c_str());
    QVERIFY2(!workers[2]->nextRequest(300ms), "a third attempt beyond --max-attempts 2");
    QCOMPARE(broker.counters().requeued, std::uint64_t(1));
}

void TestReliability::streamedRequestIsNotRedispatched()
{
    TestBroker broker(patientConfig());
    Worker first(broker, "first");
    QTRY_WORKERS(broker, 1);
    Worker second(broker, "second");
    QTRY_WORKERS(broker, 2);
    Client client(broker);
    client.request(body("stream", optionsFrame(std::nullopt, true)));
    const auto held = first.nextRequest(5000ms);
    QVERIFY(held);
    first.peer->send(mdp02::partial(held->first, {"stream", kOk, pack(1)}));
    const auto item = client.peer.receive(5000ms);
    QVERIFY(item);
    QCOMPARE((*item)[1], std::string("\x02")); // client PARTIAL
    QVERIFY(broker.evictWorker("first"));
    // Running it again would repeat the item the client already has.
    const auto answer = client.answer();
    QVERIFY(answer);
    QCOMPARE(errorType(*answer), std::string("WorkerLost"));
    QVERIFY(!second.nextRequest(300ms));
}

void TestReliability::lateReplyOfPurgedWorkerIsDroppedAndCounted()
{
    BrokerConfig config = patientConfig();
    config.heartbeatInterval = 100ms; // a silent worker is purged after 300 ms
    TestBroker broker(config);
    Worker slow(broker, "slow");
    QTRY_WORKERS(broker, 1);
    Client client(broker);
    client.request(body("slow-job"));
    const auto held = slow.nextRequest(5000ms);
    QVERIFY(held);
    const auto lost = client.answer();
    QVERIFY(lost);
    QCOMPARE(errorType(*lost), std::string("WorkerLost"));

    // It was only slow: its answer comes after the broker gave up on it.
    slow.reply(held->first, "slow-job");
    QTRY_COMPARE_WITH_TIMEOUT(broker.counters().lateReplies, std::uint64_t(1), 5000);
    QVERIFY2(slow.disconnected(3000ms), "a purged worker that speaks again gets DISCONNECT");
    QVERIFY2(!client.answer(300ms), "the late reply reached the client");
    QCOMPARE(broker.snapshot().totals.lateReplies, std::uint64_t(1));
}

QTEST_GUILESS_MAIN(TestReliability)
#include "tst_reliability.moc"
