// Workers with credit (docs/PROTOCOL.md §11.1), directly against RoutingCore: dispatch up to the
// credit, answers in any order matched to their requests, and a worker lost while holding
// several requests.

#include "routingharness.h"

#include <QTest>

#include <map>
#include <set>

using namespace switchboard;
using namespace switchboard::testing;

namespace {

Frames readyWithCreditFrame(const std::string& worker, const std::string& credit)
{
    Frames ready = mdp::makeWorkerReady(mdp::Version::V02, "echo");
    ready.emplace_back(credit.data(), credit.size());
    return fromWorker(worker, std::move(ready));
}

std::string requestIdOf(const ClientAnswer& answer)
{
    return answer.requestId();
}

} // namespace

class TestRoutingCredit : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void aWorkerGetsRequestsUpToItsCreditAndTheRestWait()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 3);
        QCOMPARE(h.core.workers().find("w1")->capacity(), 3);
        for (int i = 0; i < 5; ++i) {
            h.client(request("c" + std::to_string(i), "echo", "r" + std::to_string(i)));
        }
        auto sent = h.outbox.requestsFor("w1");
        QCOMPARE(sent.size(), 3u);
        QCOMPARE(h.core.counters().queuedRequests, 2u);
        QCOMPARE(h.core.counters().requestsInFlight, 3u);
        QVERIFY(h.core.services().find("echo")->idleWorkers().empty());

        // Each freed place takes the next waiting request at once, in arrival order.
        h.worker(answer(sent[1], "one"));
        auto next = h.outbox.requestsFor("w1");
        QCOMPARE(next.size(), 1u);
        QCOMPARE(next[0].requestId(), std::string("r3"));
        QCOMPARE(h.outbox.takeFor("c1").at(0).payload(), std::string("one"));
        QCOMPARE(h.core.counters().queuedRequests, 1u);
    }

    void answersInAnyOrderReachTheirOwnRequests()
    {
        // One client, four requests at one worker: every address differs, and each answer,
        // given in reverse order, reaches the client under its own request id.
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 4);
        for (int i = 0; i < 4; ++i) {
            h.client(request("c", "echo", "r" + std::to_string(i)));
        }
        auto sent = h.outbox.requestsFor("w1");
        QCOMPARE(sent.size(), 4u);
        std::set<std::string> addresses;
        for (const WorkerDelivery& delivery : sent) {
            QCOMPARE(delivery.client().substr(0, 1), std::string("c"));
            QCOMPARE(delivery.client().size(), 5u); // the identity and a 4-byte tag
            addresses.insert(delivery.client());
        }
        QCOMPARE(addresses.size(), 4u);
        for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
            h.worker(answer(*it, "answer to " + it->requestId()));
        }
        const auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 4u);
        for (int i = 0; i < 4; ++i) {
            const ClientAnswer& reply = got[static_cast<std::size_t>(i)];
            const std::string id = "r" + std::to_string(3 - i);
            QCOMPARE(requestIdOf(reply), id);
            QCOMPARE(reply.payload(), "answer to " + id);
            QCOMPARE(reply.client, std::string("c")); // the client's own identity, untagged
        }
        QCOMPARE(h.core.counters().requestsInFlight, 0u);
        QCOMPARE(h.core.workers().find("w1")->served(), 4u);
    }

    void interleavedStreamsStayApart()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 2);
        h.client(request("c", "echo", "a"));
        h.client(request("c", "echo", "b"));
        auto sent = h.outbox.requestsFor("w1");
        QCOMPARE(sent.size(), 2u);
        h.worker(answer(sent[0], "a1", mdp::WorkerCommand::Partial));
        h.worker(answer(sent[1], "b1", mdp::WorkerCommand::Partial));
        h.worker(answer(sent[1], "b2"));
        h.worker(answer(sent[0], "a2"));
        const auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 4u);
        std::map<std::string, std::string> payloads;
        for (const ClientAnswer& reply : got) {
            payloads[reply.requestId()] += reply.payload();
        }
        QCOMPARE(payloads["a"], std::string("a1a2"));
        QCOMPARE(payloads["b"], std::string("b1b2"));
        QVERIFY(got[2].command == mdp::ClientCommand::Final);
    }

    void workersWithFreeCreditAreUsedLeastRecentlyUsedFirst()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 2);
        h.ready("w2", "echo", mdp::Version::V02, 2);
        h.ready("plain", "echo");
        std::vector<std::string> order;
        for (int i = 0; i < 5; ++i) {
            h.client(request("c", "echo", "r" + std::to_string(i)));
            order.push_back(h.outbox.toWorkers.back().worker);
        }
        const std::vector<std::string> expected{"w1", "w2", "plain", "w1", "w2"};
        QCOMPARE(order, expected);
        // Full everywhere: the sixth waits.
        h.client(request("c", "echo", "r5"));
        QCOMPARE(h.core.counters().queuedRequests, 1u);
        // A plain worker still sees the client's identity as the address.
        QCOMPARE(h.outbox.requestsFor("plain").at(0).client(), std::string("c"));
    }

    void aLostWorkerHandsOnItsIdempotentRequestsAndAnswersTheRestWorkerLost()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 4);
        for (int i = 0; i < 4; ++i) {
            h.client(request("c", "echo", "r" + std::to_string(i), mdp::Version::V02,
                             i % 2 ? std::optional(idempotent()) : std::nullopt));
        }
        QCOMPARE(h.outbox.requestsFor("w1").size(), 4u);
        h.ready("w2", "echo", mdp::Version::V02, 4);
        // w1 falls silent past its liveness (3 s); w2 keeps heartbeating.
        h.advance(2000ms);
        h.worker(fromWorker("w2", mdp::makeWorkerHeartbeat(mdp::Version::V02)));
        h.advance(1000ms);
        QVERIFY(h.observer.saw("silent w1"));
        QVERIFY(h.core.workers().find("w2"));

        auto again = h.outbox.requestsFor("w2");
        std::set<std::string> rerun;
        for (const WorkerDelivery& delivery : again) {
            rerun.insert(delivery.requestId());
        }
        QCOMPARE(rerun, (std::set<std::string>{"r1", "r3"}));
        auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 2u);
        std::set<std::string> lost;
        for (const ClientAnswer& reply : got) {
            QCOMPARE(reply.errorType(), std::string("WorkerLost"));
            lost.insert(reply.requestId());
        }
        QCOMPARE(lost, (std::set<std::string>{"r0", "r2"}));
        for (const WorkerDelivery& delivery : again) {
            h.worker(answer(delivery, "done"));
        }
        QCOMPARE(h.outbox.takeFor("c").size(), 2u);
        QCOMPARE(h.core.counters().requestsInFlight, 0u);
        QCOMPARE(h.core.counters().requeued, 2u);
    }

    void evictionAnswersEveryRequestTheWorkerHeld()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 3);
        for (int i = 0; i < 3; ++i) {
            h.client(request("c", "echo", "r" + std::to_string(i)));
        }
        QCOMPARE(h.core.evict("w1", h.now), std::optional<std::size_t>(3));
        const auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 3u);
        for (const ClientAnswer& reply : got) {
            QCOMPARE(reply.errorType(), std::string("WorkerLost"));
        }
        QCOMPARE(h.core.counters().requestsInFlight, 0u);
    }

    void shutdownAnswersEveryRequestTheWorkersHold()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V01, 2);
        h.client(request("c", "echo", "r0"));
        h.client(request("c", "echo", "r1"));
        h.client(request("c", "echo", "r2"));
        h.core.shutdown(h.now);
        const auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 3u);
        for (const ClientAnswer& reply : got) {
            QCOMPARE(reply.errorType(), std::string("BrokerShutdown"));
        }
        QCOMPARE(h.core.counters().shutdownErrors, 3u);
    }

    void aSevenMdpWorkerWithCreditAnswersWithReply()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V01, 2);
        h.client(request("c", "echo", "r0", mdp::Version::V01));
        h.client(request("d", "echo", "r1"));
        auto sent = h.outbox.requestsFor("w1");
        QCOMPARE(sent.size(), 2u);
        h.worker(answer(sent[1], "to d", mdp::WorkerCommand::Reply, mdp::Version::V01));
        h.worker(answer(sent[0], "to c", mdp::WorkerCommand::Reply, mdp::Version::V01));
        QCOMPARE(h.outbox.takeFor("c").at(0).payload(), std::string("to c"));
        QCOMPARE(h.outbox.takeFor("d").at(0).payload(), std::string("to d"));
    }

    void mmiCapacityTellsWorkersCreditHeldAndWaiting()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 3);
        h.ready("plain", "echo");
        h.ready("w2", "work", mdp::Version::V01, 2);
        for (int i = 0; i < 6; ++i) {
            h.client(request("c", "echo", "r" + std::to_string(i)));
        }
        h.client(request("c", "work", "w"));
        h.client(request("m", "mmi.capacity", "cap"));
        const auto got = h.outbox.takeFor("m");
        QCOMPARE(got.size(), 1u);
        const auto payload = msgpack::unpack(static_cast<const char*>(got[0].body.at(2).data()),
                                             got[0].body.at(2).size());
        using Line = std::map<std::string, std::size_t>;
        const auto lines = payload.get().as<std::map<std::string, Line>>();
        QCOMPARE(lines.size(), 2u);
        QCOMPARE(lines.at("echo"),
                 (Line{{"workers", 2}, {"capacity", 4}, {"inFlight", 4}, {"queued", 2}}));
        QCOMPARE(lines.at("work"),
                 (Line{{"workers", 1}, {"capacity", 2}, {"inFlight", 1}, {"queued", 0}}));

        // The RFC 8 form: "200", then five frames per service.
        Frames raw;
        raw.emplace_back("m", 1);
        for (auto& frame : mdp::makeClientRequest(mdp::Version::V02, "mmi.capacity", {})) {
            raw.push_back(std::move(frame));
        }
        raw.emplace_back("x", 1);
        h.client(std::move(raw));
        const auto rawGot = h.outbox.takeFor("m");
        QCOMPARE(rawGot.size(), 1u);
        std::vector<std::string> texts;
        for (const zmq::message_t& frame : rawGot[0].body) {
            texts.push_back(textOf(frame));
        }
        const std::vector<std::string> expected{"200",  "echo", "2", "4", "4", "2",
                                                "work", "1",    "2", "1", "0"};
        QCOMPARE(texts, expected);
    }

    // -- What a worker with credit may not do
    void aCreditOutsideTheBoundsIsRefused_data()
    {
        QTest::addColumn<QByteArray>("frame");
        QTest::newRow("over the maximum") << QByteArray("credit=1025");
        QTest::newRow("zero") << QByteArray("credit=0");
        QTest::newRow("not a number") << QByteArray("credit=many");
    }
    void aCreditOutsideTheBoundsIsRefused()
    {
        QFETCH(QByteArray, frame);
        Harness h;
        h.worker(readyWithCreditFrame("w1", frame.toStdString()));
        QCOMPARE(h.core.workers().size(), 0u);
        QCOMPARE(h.core.counters().malformedFromWorkers, 1u);
        // Told at once, so that a worker that falls back to plain MDP does so without waiting.
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Disconnect), 1);
        QCOMPARE(h.core.counters()
                     .malformedByKind[static_cast<std::size_t>(ProtocolErrorKind::InvalidCredit)],
                 1u);
    }

    void changingTheCreditMidSessionIsAViolation()
    {
        // The credit is fixed for the session: a HEARTBEAT carrying one (to lower or raise it)
        // is malformed, and the worker is disconnected with what it held answered.
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 4);
        h.client(request("c", "echo", "r0"));
        Frames heartbeat = mdp::makeWorkerHeartbeat(mdp::Version::V02);
        heartbeat.emplace_back("credit=1", 8);
        h.worker(fromWorker("w1", std::move(heartbeat)));
        QCOMPARE(h.core.workers().size(), 0u);
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Disconnect), 1);
        QCOMPARE(h.outbox.takeFor("c").at(0).errorType(), std::string("WorkerLost"));
    }

    void anAnswerWithAnAddressTheWorkerWasNotGivenIsAViolation_data()
    {
        QTest::addColumn<int>("what");
        QTest::newRow("the client's plain identity") << 0;
        QTest::newRow("another tag") << 1;
        QTest::newRow("the same request answered twice") << 2;
    }
    void anAnswerWithAnAddressTheWorkerWasNotGivenIsAViolation()
    {
        QFETCH(int, what);
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 2);
        h.client(request("c", "echo", "r0"));
        h.client(request("c", "echo", "r1"));
        auto sent = h.outbox.requestsFor("w1");
        WorkerDelivery forged{"w1", sent[0].message, {}};
        for (const zmq::message_t& frame : sent[0].frames) {
            forged.frames.emplace_back(frame.data(), frame.size());
        }
        std::string address = sent[0].client();
        if (what == 0) {
            address = "c";
        } else if (what == 1) {
            address.back() = static_cast<char>(address.back() + 7);
        } else {
            h.worker(answer(sent[0], "first"));
        }
        forged.frames[forged.message.clientFrame] = zmq::message_t(address.data(), address.size());
        h.worker(answer(forged, "forged"));
        QCOMPARE(h.core.workers().size(), 0u);
        QVERIFY(h.observer.saw("violated w1: answered a request it does not hold"));
        // Every request ends exactly once: the real answer (when given) and WorkerLost for the
        // rest; never the forged one.
        const auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 2u);
        for (const ClientAnswer& reply : got) {
            QVERIFY(reply.payload() != "forged");
        }
    }
};

QTEST_APPLESS_MAIN(TestRoutingCredit)
#include "tst_routingcredit.moc"
