// The routing rules of RoutingCore, directly: a fake outbox, a clock moved by hand, no sockets
// and no event loop. The wire-level suites (tests/broker) check the same rules through real
// sockets; these check each rule alone, including the orders of events sockets cannot force.

#include "routingharness.h"

#include <QTest>

using namespace switchboard;
using namespace switchboard::testing;

namespace {

rpc::RequestOptions timeout(std::uint32_t ms)
{
    rpc::RequestOptions options;
    options.timeoutMs = ms;
    return options;
}

// Bytes that are not all one value, zeros included, so that a frame cut, shifted or swapped with
// another shows.
std::string patterned(std::size_t size, int seed)
{
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        bytes[i] = static_cast<char>((i * 131 + static_cast<std::size_t>(seed) * 7) % 251);
    }
    return bytes;
}

// A body of every kind of frame a queue packs differently: a request id with a zero byte, args
// of 100 KB (kept as it came), the options, and after them an empty frame, one that fits a
// zmq_msg_t (33 bytes), one that does not (34), and frames either side of the copy bound (8 KiB).
std::vector<std::string> mixedBody(const rpc::RequestOptions& options)
{
    Frames frames;
    msgpack::sbuffer args;
    msgpack::packer<msgpack::sbuffer> packer(args);
    packer.pack_array(1);
    const std::string blob = patterned(100000, 1);
    packer.pack_bin(static_cast<std::uint32_t>(blob.size()));
    packer.pack_bin_body(blob.data(), static_cast<std::uint32_t>(blob.size()));
    rpc::appendRequest(frames, std::string("id\0x", 4), "echo",
                       zmq::message_t(args.data(), args.size()), options);
    std::vector<std::string> body;
    for (const zmq::message_t& frame : frames) {
        body.push_back(textOf(frame));
    }
    for (const std::size_t size : {0, 33, 34, 8192, 8193}) {
        body.push_back(patterned(size, static_cast<int>(size)));
    }
    return body;
}

Frames clientMessage(const std::string& client, mdp::Version version,
                     const std::vector<std::string>& body)
{
    Frames bodyFrames;
    for (const std::string& frame : body) {
        bodyFrames.emplace_back(frame.data(), frame.size());
    }
    Frames frames;
    frames.emplace_back(client.data(), client.size());
    for (auto& frame : mdp::makeClientRequest(version, "echo", std::move(bodyFrames))) {
        frames.push_back(std::move(frame));
    }
    return frames;
}

std::vector<std::string> bodyOf(const WorkerDelivery& delivery)
{
    std::vector<std::string> body;
    for (std::size_t i = delivery.message.bodyBegin; i < delivery.frames.size(); ++i) {
        body.push_back(textOf(delivery.frames[i]));
    }
    return body;
}

} // namespace

class TestRoutingCore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // -- Dispatch
    void requestGoesToTheIdleWorkerAndItsAnswerBack()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c1", "echo", "r1"));
        auto sent = h.outbox.requestsFor("w1");
        QCOMPARE(sent.size(), 1u);
        QCOMPARE(sent[0].client(), std::string("c1"));
        QCOMPARE(sent[0].requestId(), std::string("r1"));
        QCOMPARE(sent[0].method(), std::string("echo"));
        h.worker(answer(sent[0], "done"));
        auto got = h.outbox.takeFor("c1");
        QCOMPARE(got.size(), 1u);
        QVERIFY(got[0].command == mdp::ClientCommand::Final);
        QCOMPARE(got[0].service, std::string("echo"));
        QCOMPARE(got[0].requestId(), std::string("r1"));
        QCOMPARE(got[0].payload(), std::string("done"));
        QCOMPARE(h.core.counters().repliesDelivered, 1u);
        QCOMPARE(h.core.counters().requestsInFlight, 0u);
        QCOMPARE(h.observer.meterOf("echo.echo").answered, 1);
    }

    void idleWorkersAreUsedLeastRecentlyUsedFirst()
    {
        Harness h;
        for (const char* worker : {"w1", "w2", "w3"}) {
            h.ready(worker, "echo");
        }
        std::vector<std::string> order;
        for (int round = 0; round < 2; ++round) {
            for (int i = 0; i < 3; ++i) {
                h.client(request("c", "echo", "r" + std::to_string(round * 3 + i)));
                const WorkerDelivery delivery = std::move(h.outbox.toWorkers.back());
                h.outbox.toWorkers.pop_back();
                order.push_back(delivery.worker);
                h.worker(answer(delivery, "x"));
            }
        }
        // Each answer puts its worker at the back of the idle list.
        const std::vector<std::string> expected{"w1", "w2", "w3", "w1", "w2", "w3"};
        QCOMPARE(order, expected);
    }

    void requestsWaitInOrderUntilAWorkerIsFree()
    {
        Harness h;
        h.client(request("c", "echo", "r1"));
        h.client(request("c", "echo", "r2"));
        QCOMPARE(h.core.counters().queuedRequests, 2u);
        h.ready("w1", "echo");
        auto first = h.outbox.requestsFor("w1");
        QCOMPARE(first.size(), 1u); // one at a time
        QCOMPARE(first[0].requestId(), std::string("r1"));
        h.worker(answer(first[0], "a"));
        auto second = h.outbox.requestsFor("w1");
        QCOMPARE(second.size(), 1u);
        QCOMPARE(second[0].requestId(), std::string("r2"));
        QCOMPARE(h.core.counters().queuedRequests, 0u);
    }

    // A waiting request is packed (Service, PackedFrames) and unpacked for its worker: this
    // worker must get what one that was idle would have got at once, frame for frame.
    void aQueuedRequestReachesItsWorkerByteForByte_data()
    {
        QTest::addColumn<bool>("sevenMdp");
        QTest::addColumn<int>("credit");
        QTest::newRow("18/MDP") << false << 0;
        QTest::newRow("7/MDP") << true << 0;
        QTest::newRow("18/MDP worker with credit") << false << 2;
    }
    void aQueuedRequestReachesItsWorkerByteForByte()
    {
        QFETCH(bool, sevenMdp);
        QFETCH(int, credit);
        const mdp::Version version = sevenMdp ? mdp::Version::V01 : mdp::Version::V02;
        const std::vector<std::string> body = mixedBody(timeout(4000));
        Harness h;
        h.client(clientMessage("queued", version, body));
        QCOMPARE(h.core.counters().queuedRequests, 1u);
        h.ready("w1", "echo", version, credit);
        auto later = h.outbox.requestsFor("w1");
        QCOMPARE(later.size(), 1u);
        h.ready("w2", "echo", version, credit);
        h.client(clientMessage("at-once", version, body));
        auto atOnce = h.outbox.requestsFor(credit > 0 ? "w1" : "w2");
        QCOMPARE(atOnce.size(), 1u);
        QCOMPARE(bodyOf(later[0]), body);
        QCOMPARE(bodyOf(atOnce[0]), body);
        QCOMPARE(later[0].client().substr(0, 6), std::string("queued"));
        QCOMPARE(atOnce[0].client().substr(0, 7), std::string("at-once"));
        // The answer finds its client, which the queue kept too.
        h.worker(answer(later[0], "done",
                        sevenMdp ? mdp::WorkerCommand::Reply : mdp::WorkerCommand::Final, version));
        auto got = h.outbox.takeFor("queued");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].requestId(), std::string("id\0x", 4));
        QCOMPARE(got[0].payload(), std::string("done"));
    }

    // Requeued after its worker died, a request waits packed again: the next worker still gets
    // every byte.
    void anIdempotentRequestRequeuedIsSentAgainByteForByte()
    {
        const std::vector<std::string> body = mixedBody(idempotent());
        Harness h;
        h.client(clientMessage("c", mdp::Version::V02, body)); // queued
        h.ready("w1", "echo");
        QCOMPARE(bodyOf(h.outbox.requestsFor("w1").at(0)), body);
        h.worker(fromWorker("w1", mdp::makeWorkerDisconnect(mdp::Version::V02)));
        QCOMPARE(h.core.counters().requeued, 1u);
        QCOMPARE(h.core.counters().queuedRequests, 1u);
        h.ready("w2", "echo");
        auto again = h.outbox.requestsFor("w2");
        QCOMPARE(again.size(), 1u);
        QCOMPARE(bodyOf(again[0]), body);
        QCOMPARE(again[0].client(), std::string("c"));
    }

    void aWorkerGoneAtSendTimeIsPurgedAndTheNextOneServes()
    {
        Harness h;
        h.ready("w1", "echo");
        h.ready("w2", "echo");
        h.outbox.goneWorkers.insert("w1");
        h.client(request("c", "echo", "r1"));
        auto sent = h.outbox.requestsFor("w2");
        QCOMPARE(sent.size(), 1u);
        QCOMPARE(sent[0].requestId(), std::string("r1"));
        QVERIFY(h.observer.saw("closed w1"));
        QCOMPARE(h.core.workers().size(), 1u);
        QCOMPARE(h.core.workers().expired().size(), 1u);
    }

    // -- Queue limits
    void aFullServiceQueueAnswersQueueFull()
    {
        RoutingConfig config = Harness::defaultConfig();
        config.maxQueuePerService = 2;
        Harness h(config);
        for (int i = 0; i < 3; ++i) {
            h.client(request("c", "echo", "r" + std::to_string(i)));
        }
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].requestId(), std::string("r2"));
        QCOMPARE(got[0].errorType(), std::string("QueueFull"));
        QVERIFY(got[0].error().message.find("--max-queue") != std::string::npos);
        QCOMPARE(h.core.counters().queueFull, 1u);
        QVERIFY(h.observer.saw("failed QueueFull echo"));
    }

    void theBrokerWideByteBoundAnswersQueueFull()
    {
        RoutingConfig config = Harness::defaultConfig();
        Frames probe = request("c", "echo", "r0");
        std::size_t bytes = 0;
        for (const auto& frame : probe) {
            bytes += frame.size();
        }
        config.maxQueuedBytes = bytes * 2; // two fit, the third does not
        Harness h(config);
        h.client(request("c", "echo", "r0"));
        h.client(request("c", "echx", "r1"));
        h.client(request("c", "echy", "r2"));
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].errorType(), std::string("QueueFull"));
        QVERIFY(got[0].error().message.find("--max-queued-bytes") != std::string::npos);
        QCOMPARE(h.core.services().queued().requests, 2u);
        QCOMPARE(h.core.services().queued().bytes, bytes * 2);
    }

    // -- Expiry
    void aRequestNoWorkerTakesIsServiceUnavailableAtItsDeadline()
    {
        Harness h;
        h.client(request("c", "nobody", "r1"));
        h.advance(4999ms);
        QVERIFY(h.outbox.takeFor("c").empty());
        h.advance(1ms);
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].errorType(), std::string("ServiceUnavailable"));
        QCOMPARE(h.core.counters().expired, 1u);
        QCOMPARE(h.core.services().size(), 0u); // forgotten once nothing refers to it
        QCOMPARE(h.observer.servicesRemoved, std::vector<std::string>{"service:nobody"});
    }

    void aRequestWhoseWorkersStayBusyIsExpired()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "busy"));
        h.client(request("c", "echo", "waits", mdp::Version::V02, timeout(300)));
        // Heartbeats keep the worker alive while it works.
        h.now += 150ms;
        h.worker(fromWorker("w1", mdp::makeWorkerHeartbeat(mdp::Version::V02)));
        h.advance(150ms);
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].requestId(), std::string("waits"));
        QCOMPARE(got[0].errorType(), std::string("Expired"));
        QVERIFY(got[0].error().message.find("stayed busy") != std::string::npos);
    }

    void deadlinesInArrivalOrderExpireFromTheFront()
    {
        Harness h;
        for (int i = 0; i < 3; ++i) {
            h.client(request("c", "nobody", "r" + std::to_string(i)));
            h.now += 100ms;
        }
        h.advance(5000ms - 300ms);
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].requestId(), std::string("r0"));
        h.advance(200ms);
        got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 2u);
        QCOMPARE(got[1].requestId(), std::string("r2"));
    }

    void aShortTimeoutBehindALongOneExpiresFirst()
    {
        Harness h;
        h.client(request("c", "nobody", "long", mdp::Version::V02, timeout(4000)));
        h.client(request("c", "nobody", "short", mdp::Version::V02, timeout(100)));
        QCOMPARE(h.core.nextDeadline(), h.now + 100ms);
        h.advance(100ms);
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].requestId(), std::string("short"));
        QCOMPARE(h.core.counters().queuedRequests, 1u);
        h.advance(3900ms);
        got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].requestId(), std::string("long"));
    }

    void aTimeoutLongerThanTheBrokersIsCappedByIt()
    {
        Harness h;
        h.client(request("c", "nobody", "r", mdp::Version::V02, timeout(60000)));
        QCOMPARE(h.core.nextDeadline(), h.now + 1000ms); // the heartbeat comes first
        h.advance(5000ms);
        QCOMPARE(h.outbox.takeFor("c").size(), 1u);
    }

    void anExpiredRequestIsNeverDispatched()
    {
        // The worker arrives after the deadline but before the expiry pass ran.
        Harness h;
        h.client(request("c", "echo", "late", mdp::Version::V02, timeout(100)));
        h.now += 200ms;
        h.ready("w1", "echo");
        QVERIFY(h.outbox.requestsFor("w1").empty());
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].errorType(), std::string("Expired")); // a worker exists by then
    }

    // -- Workers that go away
    void aSilentWorkerIsPurgedAndItsRequestAnsweredWorkerLost()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "r1"));
        h.advance(1000ms);
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Heartbeat), 1);
        h.advance(1000ms);
        QVERIFY(h.outbox.takeFor("c").empty());
        h.advance(1000ms); // heartbeatInterval * liveness without a word
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].errorType(), std::string("WorkerLost"));
        QVERIFY(h.observer.saw("silent w1"));
        QCOMPARE(h.core.counters().workersPurged, 1u);
        QCOMPARE(h.core.workers().expired().size(), 1u);
        QCOMPARE(h.core.workers().expired().front().identity, std::string("w1"));
        // Kept for the operator for a while, then forgotten.
        h.advance(WorkerRegistry::kExpiredRetention);
        QCOMPARE(h.core.workers().expired().size(), 0u);
    }

    void aStalledLoopSendsOneRoundOfHeartbeatsNotOnePerMissedBeat()
    {
        Harness h;
        h.ready("w1", "echo");
        h.now += 2500ms; // the loop was stuck for two and a half beats
        h.worker(fromWorker("w1", mdp::makeWorkerHeartbeat(mdp::Version::V02)));
        QCOMPARE(h.core.tick(h.now), h.now + 1000ms);
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Heartbeat), 1);
    }

    void aClosedConnectionPurgesItsWorkerAtOnce()
    {
        Harness h;
        h.outbox.connections["w1"] = 17;
        h.outbox.connections["w2"] = 18;
        h.ready("w1", "echo");
        h.ready("w2", "echo");
        h.core.onConnectionClosed(17, h.now);
        QCOMPARE(h.core.workers().size(), 1u);
        QVERIFY(h.core.workers().expired().front().identity == "w1");
        QVERIFY(h.observer.saw("closed w1"));
        h.core.onConnectionClosed(99, h.now); // nobody's
        QCOMPARE(h.core.workers().size(), 1u);
    }

    void anIdempotentRequestOfALostWorkerRunsAgainElsewhere()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "r1", mdp::Version::V02, idempotent()));
        QCOMPARE(h.outbox.requestsFor("w1").size(), 1u);
        h.ready("w2", "echo");
        h.worker(fromWorker("w1", mdp::makeWorkerDisconnect(mdp::Version::V02)));
        auto again = h.outbox.requestsFor("w2");
        QCOMPARE(again.size(), 1u);
        QCOMPARE(again[0].requestId(), std::string("r1"));
        QCOMPARE(h.core.counters().requeued, 1u);
        h.worker(answer(again[0], "second time"));
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].payload(), std::string("second time"));
    }

    void reDispatchStopsAtTheAttemptLimit()
    {
        RoutingConfig config = Harness::defaultConfig();
        config.maxAttempts = 2;
        Harness h(config);
        h.client(request("c", "echo", "r1", mdp::Version::V02, idempotent()));
        for (const char* worker : {"w1", "w2"}) {
            h.ready(worker, "echo");
            QCOMPARE(h.outbox.requestsFor(worker).size(), 1u);
            h.worker(fromWorker(worker, mdp::makeWorkerDisconnect(mdp::Version::V02)));
        }
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].errorType(), std::string("WorkerLost"));
        QVERIFY(got[0].error().message.find("2 attempts made") != std::string::npos);
        QCOMPARE(h.core.counters().requeued, 1u);
    }

    void aRequestNotMarkedIdempotentIsNeverRunTwice()
    {
        Harness h;
        h.ready("w1", "echo");
        h.ready("w2", "echo");
        h.client(request("c", "echo", "r1"));
        h.worker(fromWorker("w1", mdp::makeWorkerDisconnect(mdp::Version::V02)));
        QVERIFY(h.outbox.requestsFor("w2").empty());
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].errorType(), std::string("WorkerLost"));
    }

    void aStreamPartlyDeliveredIsNotRunAgain()
    {
        Harness h;
        h.ready("w1", "echo");
        h.ready("w2", "echo");
        h.client(request("c", "echo", "r1", mdp::Version::V02, idempotent()));
        auto sent = h.outbox.requestsFor("w1");
        h.worker(answer(sent[0], "part", mdp::WorkerCommand::Partial));
        h.worker(fromWorker("w1", mdp::makeWorkerDisconnect(mdp::Version::V02)));
        QVERIFY(h.outbox.requestsFor("w2").empty());
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 2u);
        QVERIFY(got[0].command == mdp::ClientCommand::Partial);
        QCOMPARE(got[1].errorType(), std::string("WorkerLost"));
        QVERIFY(got[1].error().message.find("part of the answer was delivered") !=
                std::string::npos);
    }

    void aLateReplyFromAPurgedWorkerIsDroppedNotDelivered()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "r1"));
        auto sent = h.outbox.requestsFor("w1");
        h.advance(3000ms); // purged for silence: the client got WorkerLost
        QCOMPARE(h.outbox.takeFor("c").size(), 1u);
        h.worker(answer(sent[0], "too late"));
        QVERIFY(h.outbox.takeFor("c").empty());
        QCOMPARE(h.core.counters().lateReplies, 1u);
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Disconnect), 1);
        QVERIFY(h.observer.saw("stranger w1 FINAL"));
    }

    void evictionMidRequestAnswersWorkerLost()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "r1"));
        QCOMPARE(h.core.evict("w1", h.now), std::optional<std::size_t>(1));
        QCOMPARE(h.core.evict("w1", h.now), std::nullopt);
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Disconnect), 1);
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].errorType(), std::string("WorkerLost"));
        QVERIFY(got[0].error().message.find("evicted by an operator") != std::string::npos);
        QVERIFY(h.observer.saw("evicted w1"));
        QCOMPARE(h.core.counters().workersEvicted, 1u);
    }

    void evictionMidStreamEndsTheStreamWithWorkerLost()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "r1", mdp::Version::V02, idempotent()));
        auto sent = h.outbox.requestsFor("w1");
        h.worker(answer(sent[0], "1", mdp::WorkerCommand::Partial));
        h.worker(answer(sent[0], "2", mdp::WorkerCommand::Partial));
        QCOMPARE(h.core.evict("w1", h.now), std::optional<std::size_t>(1));
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 3u);
        QCOMPARE(got[2].errorType(), std::string("WorkerLost"));
        QCOMPARE(h.core.counters().partialsDelivered, 2u);
    }

    // -- Protocol violations
    void aWorkerThatBreaksTheDialogIsDisconnected_data()
    {
        QTest::addColumn<int>("what");
        QTest::newRow("READY twice") << 0;
        QTest::newRow("answer without a request") << 1;
        QTest::newRow("version change") << 2;
    }
    void aWorkerThatBreaksTheDialogIsDisconnected()
    {
        QFETCH(int, what);
        Harness h;
        h.ready("w1", "echo");
        if (what == 0) {
            h.ready("w1", "echo");
        } else if (what == 1) {
            WorkerDelivery fake{"w1", {}, {}};
            Frames body;
            rpc::appendReply(body, zmq::message_t("x", 1), rpc::Status::Ok, zmq::message_t("y", 1));
            h.worker(
                fromWorker("w1", mdp::makeWorkerReply(mdp::Version::V02, mdp::WorkerCommand::Final,
                                                      "c", std::move(body))));
        } else {
            h.worker(fromWorker("w1", mdp::makeWorkerHeartbeat(mdp::Version::V01)));
        }
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Disconnect), 1);
        QCOMPARE(h.core.workers().size(), 0u);
        QCOMPARE(h.core.counters().workersDisconnected, 1u);
    }

    void aWorkerMayNotServeAReservedService()
    {
        Harness h;
        h.ready("w1", "mmi.service");
        QCOMPARE(h.core.workers().size(), 0u);
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Disconnect), 1);
        QVERIFY(h.observer.saw("reserved w1 mmi.service"));
    }

    void malformedClientMessagesAreAnsweredInTheClientsVersion()
    {
        Harness h;
        Frames frames = request("c", "echo", "r1", mdp::Version::V01);
        frames.resize(4); // no body
        h.client(std::move(frames));
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QVERIFY(got[0].version == mdp::Version::V01);
        QCOMPARE(got[0].errorType(), std::string("MalformedRequest"));
        QVERIFY(h.observer.saw("malformed client c"));
        // Not MDP at all: nothing to answer, but counted.
        Frames garbage;
        garbage.emplace_back("c", 1);
        garbage.emplace_back("hello", 5);
        h.client(std::move(garbage));
        QVERIFY(h.outbox.takeFor("c").empty());
        const BrokerCounters counts = h.core.counters();
        QCOMPARE(counts.malformedFromClients, 2u);
        QCOMPARE(counts.clientMessages, counts.requestsReceived + counts.malformedFromClients);
    }

    void malformedOptionsAreRefusedBeforeAnyWorkerRunsThem()
    {
        Harness h;
        h.ready("w1", "echo");
        Frames frames = request("c", "echo", "r1");
        frames.emplace_back("\xc1", 1); // options frame that is not msgpack
        h.client(std::move(frames));
        QVERIFY(h.outbox.requestsFor("w1").empty());
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].requestId(), std::string("r1"));
        QCOMPARE(got[0].errorType(), std::string("MalformedRequest"));
    }

    // -- Versions
    void aSevenMdpClientGetsAReplyFromAnEighteenMdpWorker()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02);
        h.client(request("c", "echo", "r1", mdp::Version::V01));
        auto sent = h.outbox.requestsFor("w1");
        h.worker(answer(sent[0], "ok", mdp::WorkerCommand::Final));
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QVERIFY(got[0].version == mdp::Version::V01);
        QVERIFY(got[0].command == mdp::ClientCommand::Reply);
    }

    void anEighteenMdpClientGetsFinalFromASevenMdpWorker()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V01);
        h.client(request("c", "echo", "r1", mdp::Version::V02));
        auto sent = h.outbox.requestsFor("w1");
        QVERIFY(sent[0].message.version == mdp::Version::V01);
        h.worker(answer(sent[0], "ok", mdp::WorkerCommand::Reply, mdp::Version::V01));
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QVERIFY(got[0].version == mdp::Version::V02);
        QVERIFY(got[0].command == mdp::ClientCommand::Final);
    }

    void aStreamForASevenMdpClientEndsInStreamingUnsupported()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "r1", mdp::Version::V01));
        auto sent = h.outbox.requestsFor("w1");
        h.worker(answer(sent[0], "1", mdp::WorkerCommand::Partial));
        h.worker(answer(sent[0], "2", mdp::WorkerCommand::Partial));
        h.worker(answer(sent[0], "end", mdp::WorkerCommand::Final));
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u); // exactly one answer for 7/MDP
        QCOMPARE(got[0].errorType(), std::string("StreamingUnsupported"));
        QCOMPARE(h.observer.meterOf("echo.echo").errors, 1);
        // The worker is free again once its stream ended.
        QCOMPARE(h.core.services().find("echo")->idleWorkers().size(), 1u);
    }

    // -- MMI
    void mmiServiceSaysWhetherAServiceHasWorkers()
    {
        Harness h;
        h.ready("w1", "echo");
        for (const char* name : {"echo", "nothing"}) {
            Frames body;
            body.emplace_back(name, std::strlen(name));
            Frames frames = fromWorker(
                "c", mdp::makeClientRequest(mdp::Version::V01, "mmi.service", std::move(body)));
            h.client(std::move(frames));
        }
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 2u);
        QCOMPARE(textOf(got[0].body.back()), std::string("200"));
        QCOMPARE(textOf(got[1].body.back()), std::string("404"));
        QCOMPARE(h.core.counters().mmiRequests, 2u);
        QCOMPARE(h.core.services().find("mmi.service"), nullptr); // no service made up
    }

    // -- Clients that do not read
    void answersForAClientThatDoesNotReadAreHeldInOrder()
    {
        Harness h;
        h.ready("w1", "echo");
        h.outbox.blockedClients.insert("c");
        for (int i = 0; i < 3; ++i) {
            h.client(request("c", "echo", "r" + std::to_string(i)));
            auto sent = h.outbox.requestsFor("w1");
            h.worker(answer(sent.at(0), std::to_string(i)));
        }
        QCOMPARE(h.core.counters().heldReplies, 3u);
        QVERIFY(h.observer.saw("not reading c"));
        QCOMPARE(h.core.nextDeadline(), h.now + RoutingCore::kHeldRetryInterval);
        h.outbox.blockedClients.clear();
        h.core.onClientsReading(h.now);
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 3u);
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(got[i].payload(), std::to_string(i));
        }
        QCOMPARE(h.core.counters().heldRepliesDelivered, 3u);
    }

    void aClientThatReadsIsRetriedAtMostOnceAMillisecond()
    {
        Harness h;
        h.ready("w1", "echo");
        h.outbox.blockedClients.insert("c");
        h.client(request("c", "echo", "r"));
        h.worker(answer(h.outbox.requestsFor("w1").at(0), "x"));
        h.core.onClientsReading(h.now); // still blocked: a sweep that sends nothing
        h.outbox.blockedClients.clear();
        h.core.onClientsReading(h.now + 500us); // too soon after the last sweep
        QVERIFY(h.outbox.takeFor("c").empty());
        QCOMPARE(h.core.nextDeadline(), h.now + RoutingCore::kHeldSweepSpacing);
        h.advance(RoutingCore::kHeldSweepSpacing); // the skipped sweep is made up
        QCOMPARE(h.outbox.takeFor("c").size(), 1u);
        QCOMPARE(h.core.counters().heldReplies, 0u);
    }

    void heldAnswersOfAClientThatLeftAreDroppedAndCounted()
    {
        Harness h;
        h.ready("w1", "echo");
        h.outbox.blockedClients.insert("c");
        h.client(request("c", "echo", "r"));
        h.worker(answer(h.outbox.requestsFor("w1").at(0), "x"));
        h.outbox.blockedClients.clear();
        h.outbox.goneClients.insert("c");
        h.advance(RoutingCore::kHeldRetryInterval);
        QCOMPARE(h.core.counters().heldReplies, 0u);
        QCOMPARE(h.core.counters().heldRepliesReleased, 1u);
        QVERIFY(h.observer.saw("dropped 1 for c"));
    }

    void aClientPastItsBoundGetsQueueFullBeforeAnyWorkerRuns()
    {
        RoutingConfig config = Harness::defaultConfig();
        config.maxHeldReplyBytesPerClient = 1; // the first held answer reaches it
        Harness h(config);
        h.ready("w1", "echo");
        h.outbox.blockedClients.insert("c");
        h.client(request("c", "echo", "r1"));
        h.worker(answer(h.outbox.requestsFor("w1").at(0), "x"));
        h.client(request("c", "echo", "r2"));
        QVERIFY(h.outbox.requestsFor("w1").empty());
        QCOMPARE(h.core.counters().refusedUnread, 1u);
        QVERIFY(h.observer.saw("at bound c"));
        h.outbox.blockedClients.clear();
        h.core.onClientsReading(h.now);
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 2u);
        QCOMPARE(got[0].payload(), std::string("x"));
        QCOMPARE(got[1].errorType(), std::string("QueueFull"));
        QVERIFY(got[1].error().message.find("--max-held-per-client") != std::string::npos);
    }

    void aClientGoneWhenItsAnswerComesIsCounted()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "r"));
        h.outbox.goneClients.insert("c");
        h.worker(answer(h.outbox.requestsFor("w1").at(0), "x"));
        QCOMPARE(h.core.counters().clientUnreachable, 1u);
        QCOMPARE(h.core.services().find("echo")->idleWorkers().size(), 1u);
    }

    // -- Shutdown
    void shutdownAnswersEverythingAndDisconnectsEveryWorker()
    {
        Harness h;
        h.ready("w1", "echo");
        h.client(request("c", "echo", "running"));
        h.client(request("c", "echo", "queued"));
        h.client(request("c", "nobody", "waiting"));
        h.core.shutdown(h.now);
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 3u);
        for (const ClientAnswer& answer : got) {
            QCOMPARE(answer.errorType(), std::string("BrokerShutdown"));
        }
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Disconnect), 1);
        const BrokerCounters counts = h.core.counters();
        QCOMPARE(counts.shutdownErrors, 3u);
        QCOMPARE(counts.queuedRequests, 0u);
        QCOMPARE(counts.requestsInFlight, 0u);
        QCOMPARE(counts.workers, 0u);
        QCOMPARE(counts.services, 0u);
        QCOMPARE(h.core.nextDeadline(), Clock::time_point::max());
        // Nothing is taken any more.
        h.client(request("c", "echo", "after"));
        QVERIFY(h.outbox.takeFor("c").empty());
    }

    // -- Accounting
    void everyRequestEndsExactlyOnce()
    {
        // A mix of outcomes; each request id is answered once, and the counters add up.
        RoutingConfig config = Harness::defaultConfig();
        config.maxQueuePerService = 3;
        Harness h(config);
        h.ready("w1", "echo");
        for (int i = 0; i < 6; ++i) {
            h.client(request("c", "echo", "r" + std::to_string(i), mdp::Version::V02,
                             i % 2 ? std::optional(idempotent()) : std::nullopt));
        }
        h.worker(answer(h.outbox.requestsFor("w1").at(0), "ok"));
        h.ready("w2", "echo");
        h.worker(fromWorker("w1", mdp::makeWorkerDisconnect(mdp::Version::V02)));
        h.advance(10s);
        h.core.shutdown(h.now);
        std::map<std::string, int> answers;
        for (const ClientAnswer& answer : h.outbox.takeFor("c")) {
            ++answers[answer.requestId()];
        }
        QCOMPARE(answers.size(), 6u);
        for (const auto& [id, count] : answers) {
            QVERIFY2(count == 1, id.c_str());
        }
        QCOMPARE(h.core.counters().requestsReceived, 6u);
    }
};

QTEST_APPLESS_MAIN(TestRoutingCore)
#include "tst_routingcore.moc"
