// Workers with credit (docs/PROTOCOL.md §11.1), directly against RoutingCore: dispatch up to the
// credit, answers in any order matched to their requests, a worker lost while holding several
// requests, and requests handed back with DECLINE (§11.2).

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

// The worker hands the request back, under the address it was sent.
Frames decline(const WorkerDelivery& delivery, mdp::Version version = mdp::Version::V02)
{
    return fromWorker(delivery.worker, mdp::makeWorkerDecline(version, delivery.client()));
}

Frames heartbeatFrom(const std::string& worker)
{
    return fromWorker(worker, mdp::makeWorkerHeartbeat(mdp::Version::V02));
}

std::vector<std::string> requestIds(const std::vector<WorkerDelivery>& deliveries)
{
    std::vector<std::string> ids;
    for (const WorkerDelivery& delivery : deliveries) {
        ids.push_back(delivery.requestId());
    }
    return ids;
}

rpc::RequestOptions timeoutOf(std::uint32_t ms)
{
    rpc::RequestOptions options;
    options.timeoutMs = ms;
    return options;
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

    // -- DECLINE (docs/PROTOCOL.md §11.2)
    void aDeclinedRequestGoesToAnotherWorkerWithFreeCreditAtOnce()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 2);
        h.ready("w2", "echo", mdp::Version::V02, 2);
        h.client(request("c", "echo", "r0"));
        const auto first = h.outbox.requestsFor("w1");
        QCOMPARE(first.size(), 1u);

        h.worker(decline(first[0]));
        auto second = h.outbox.requestsFor("w2");
        QCOMPARE(requestIds(second), std::vector<std::string>{"r0"});
        QCOMPARE(h.core.counters().workerDeclines, 1u);
        QCOMPARE(h.core.counters().requeued, 0u);
        QCOMPARE(h.core.counters().queuedRequests, 0u);
        QCOMPARE(h.core.counters().requestsInFlight, 1u);
        QVERIFY(h.core.workers().find("w1")->closed());
        QVERIFY(h.core.workers().find("w1")->inFlight().empty());

        // w1 has free credit but said it is full: the next request goes to w2 as well.
        h.client(request("c", "echo", "r1"));
        QVERIFY(h.outbox.requestsFor("w1").empty());
        const auto third = h.outbox.requestsFor("w2");
        QCOMPARE(requestIds(third), std::vector<std::string>{"r1"});

        h.worker(answer(second[0], "from w2"));
        const auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].requestId(), std::string("r0"));
        QCOMPARE(got[0].payload(), std::string("from w2"));
        QCOMPARE(h.core.workers().find("w1")->served(), 0u);
    }

    void withNoOtherWorkerItWaitsFirstInLineUntilTheWorkersHeartbeat()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 2);
        h.client(request("c", "echo", "r0"));
        h.client(request("c", "echo", "r1"));
        const auto held = h.outbox.requestsFor("w1");
        QCOMPARE(requestIds(held), (std::vector<std::string>{"r0", "r1"}));
        h.client(request("c", "echo", "r2"));
        QCOMPARE(h.core.counters().queuedRequests, 1u);

        h.worker(decline(held[0]));
        QCOMPARE(h.core.counters().queuedRequests, 2u);
        QVERIFY(h.outbox.requestsFor("w1").empty());

        // Replies do not reopen it, nor does time: it still gets the broker's heartbeats and is
        // not purged while it is heard from.
        h.advance(1000ms);
        h.worker(answer(held[1], "one"));
        QCOMPARE(h.outbox.takeFor("c").at(0).requestId(), std::string("r1"));
        QVERIFY(h.outbox.requestsFor("w1").empty());
        for (int i = 0; i < 5; ++i) {
            h.advance(500ms);
        }
        QVERIFY(h.outbox.commandsTo("w1", mdp::WorkerCommand::Heartbeat) >= 3);
        QVERIFY(h.core.workers().find("w1"));
        QVERIFY(h.core.workers().find("w1")->closed());
        QVERIFY(h.outbox.requestsFor("w1").empty());
        QCOMPARE(h.core.counters().queuedRequests, 2u);

        // Its HEARTBEAT says it has room: the declined request first, then the later one.
        h.worker(heartbeatFrom("w1"));
        QVERIFY(!h.core.workers().find("w1")->closed());
        const auto again = h.outbox.requestsFor("w1");
        QCOMPARE(requestIds(again), (std::vector<std::string>{"r0", "r2"}));
        QCOMPARE(h.core.counters().queuedRequests, 0u);
        for (const WorkerDelivery& delivery : again) {
            h.worker(answer(delivery, "done"));
        }
        QCOMPARE(h.outbox.takeFor("c").size(), 2u);
        QCOMPARE(h.core.counters().requestsInFlight, 0u);
    }

    void aDeclineDoesNotUseAnAttempt()
    {
        // Declined more often than --max-attempts allows runs, a non-idempotent request is still
        // run and answered, and an idempotent one still has its attempt when its worker dies.
        RoutingConfig config = Harness::defaultConfig();
        config.maxAttempts = 2;
        Harness h(config);
        h.ready("w1", "echo", mdp::Version::V02, 1);
        h.client(request("c", "echo", "once"));
        for (int i = 0; i < 3; ++i) {
            const auto sent = h.outbox.requestsFor("w1");
            QCOMPARE(requestIds(sent), std::vector<std::string>{"once"});
            h.worker(decline(sent[0]));
            h.worker(heartbeatFrom("w1"));
        }
        const auto sent = h.outbox.requestsFor("w1");
        QCOMPARE(requestIds(sent), std::vector<std::string>{"once"});
        const RegisteredWorker* w1 = h.core.workers().find("w1");
        QVERIFY(w1);
        QCOMPARE(w1->inFlight().at(0).terms.attempts, 1);
        h.worker(answer(sent[0], "ran"));
        const auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].payload(), std::string("ran"));

        h.client(request("c", "echo", "retry", mdp::Version::V02, idempotent()));
        for (int i = 0; i < 3; ++i) {
            h.worker(decline(h.outbox.requestsFor("w1").at(0)));
            h.worker(heartbeatFrom("w1"));
        }
        QCOMPARE(h.outbox.requestsFor("w1").size(), 1u);
        h.ready("w2", "echo", mdp::Version::V02, 1);
        QCOMPARE(h.core.evict("w1", h.now), std::optional<std::size_t>(1));
        QCOMPARE(requestIds(h.outbox.requestsFor("w2")), std::vector<std::string>{"retry"});
        QCOMPARE(h.core.counters().requeued, 1u);
        QVERIFY(h.outbox.takeFor("c").empty());
        QCOMPARE(h.core.counters().workerDeclines, 6u);
    }

    void aDeclinedRequestKeepsItsDeadline()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, 1);
        h.client(request("c", "echo", "r0", mdp::Version::V02, timeoutOf(3000)));
        h.advance(1000ms);
        h.worker(decline(h.outbox.requestsFor("w1").at(0)));
        // Not a new request: its three seconds count from its arrival, not from the DECLINE.
        h.advance(1999ms);
        QVERIFY(h.outbox.takeFor("c").empty());
        h.advance(1ms);
        const auto got = h.outbox.takeFor("c");
        QCOMPARE(got.size(), 1u);
        QCOMPARE(got[0].errorType(), std::string("Expired"));
        QCOMPARE(h.core.counters().expired, 1u);
        QCOMPARE(h.core.counters().queuedRequests, 0u);
        QVERIFY(h.observer.saw("failed Expired echo"));
    }

    void aDeclineIsAViolationWhereTheWorkerCannotDecline_data()
    {
        QTest::addColumn<int>("credit");
        QTest::addColumn<int>("what");
        QTest::addColumn<QString>("why");
        QTest::newRow("without credit")
            << 0 << 0 << QStringLiteral("declined a request without the credit extension");
        QTest::newRow("an address it was not given")
            << 2 << 1 << QStringLiteral("declined a request it does not hold");
        QTest::newRow("the client's plain identity")
            << 2 << 2 << QStringLiteral("declined a request it does not hold");
        QTest::newRow("a request it has answered")
            << 2 << 3 << QStringLiteral("declined without holding a request");
        QTest::newRow("after a PARTIAL")
            << 2 << 4 << QStringLiteral("declined a request it had sent a PARTIAL for");
        QTest::newRow("after a PARTIAL for a 7/MDP client")
            << 2 << 5 << QStringLiteral("declined a request it had sent a PARTIAL for");
    }
    void aDeclineIsAViolationWhereTheWorkerCannotDecline()
    {
        QFETCH(int, credit);
        QFETCH(int, what);
        QFETCH(QString, why);
        Harness h;
        h.ready("w1", "echo", mdp::Version::V02, credit);
        h.client(request("c", "echo", "r0", what == 5 ? mdp::Version::V01 : mdp::Version::V02));
        const auto sent = h.outbox.requestsFor("w1");
        QCOMPARE(sent.size(), 1u);
        std::string address = sent[0].client();
        if (what == 1) {
            address.back() = static_cast<char>(address.back() + 7);
        } else if (what == 2) {
            address = "c";
        } else if (what == 3) {
            h.worker(answer(sent[0], "done"));
        } else if (what >= 4) {
            h.worker(answer(sent[0], "part", mdp::WorkerCommand::Partial));
        }
        const auto before = h.outbox.takeFor("c");
        h.worker(fromWorker("w1", mdp::makeWorkerDecline(mdp::Version::V02, address)));

        QCOMPARE(h.core.workers().size(), 0u);
        QVERIFY2(h.observer.saw("violated w1: " + why.toStdString()),
                 qPrintable(QString::fromStdString(h.observer.events.back())));
        QCOMPARE(h.outbox.commandsTo("w1", mdp::WorkerCommand::Disconnect), 1);
        QCOMPARE(h.core.counters().workerMessagesRefused, 1u);
        QCOMPARE(h.core.counters().workerDeclines, 0u);
        QCOMPARE(h.core.counters().requeued, 0u);
        QCOMPARE(h.core.counters().queuedRequests, 0u);
        // Every request ends once, and is never run again: answered before (the 7/MDP client
        // with StreamingUnsupported at the PARTIAL), or WorkerLost now.
        const auto after = h.outbox.takeFor("c");
        if (what == 3 || what == 5) {
            QVERIFY(after.empty());
        } else {
            QCOMPARE(after.size(), 1u);
            QCOMPARE(after[0].errorType(), std::string("WorkerLost"));
        }
        QCOMPARE(before.size(), what >= 3 ? 1u : 0u);
    }

    void aDeclineFromAStrangerIsRefused()
    {
        Harness h;
        h.worker(fromWorker("ghost", mdp::makeWorkerDecline(mdp::Version::V02, "c\0\0\0\1")));
        QVERIFY(h.observer.saw("stranger ghost DECLINE"));
        QCOMPARE(h.outbox.commandsTo("ghost", mdp::WorkerCommand::Disconnect), 1);
        QCOMPARE(h.core.counters().workerMessagesRefused, 1u);
        QCOMPARE(h.core.counters().lateReplies, 0u);
    }

    void everyDeclineIsCountedAsAWorkerMessage()
    {
        Harness h;
        h.ready("w1", "echo", mdp::Version::V01, 1);
        h.ready("w2", "echo", mdp::Version::V01, 1);
        h.client(request("c", "echo", "r0"));
        h.worker(decline(h.outbox.requestsFor("w1").at(0), mdp::Version::V01));
        h.worker(decline(h.outbox.requestsFor("w2").at(0), mdp::Version::V01));
        QCOMPARE(h.core.counters().workerDeclines, 2u);
        const BrokerCounters counts = h.core.counters();
        QCOMPARE(counts.workerMessages,
                 counts.malformedFromWorkers + counts.workersRegistered + counts.workerHeartbeats +
                     counts.workerAnswers + counts.workerDeclines + counts.workersLeft +
                     counts.workerMessagesRefused + counts.workerMessagesIgnored);
        // Both closed: it waits for whichever has room first.
        QCOMPARE(h.core.counters().queuedRequests, 1u);
        h.worker(fromWorker("w2", mdp::makeWorkerHeartbeat(mdp::Version::V01)));
        QCOMPARE(requestIds(h.outbox.requestsFor("w2")), std::vector<std::string>{"r0"});
    }
};

QTEST_APPLESS_MAIN(TestRoutingCredit)
#include "tst_routingcredit.moc"
