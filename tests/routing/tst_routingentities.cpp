// The routing core's entities alone: the idle-worker list, a Service's queue and its accounting,
// the service and worker registries, and the MMI responder.

#include "routingharness.h"

#include <switchboard/routing/idleworkerlist.h>
#include <switchboard/routing/mmiresponder.h>
#include <switchboard/routing/serviceregistry.h>
#include <switchboard/routing/workerregistry.h>

#include <QTest>

#include <cstring>

using namespace switchboard;
using namespace switchboard::testing;

namespace {

QueuedRequest queued(std::size_t bytes, Clock::time_point deadline)
{
    QueuedRequest request;
    request.bytes = bytes;
    request.terms.deadline = deadline;
    return request;
}

} // namespace

class TestRoutingEntities : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void idleListIsLeastRecentlyUsedFirstAndRemovesFromTheMiddle()
    {
        QueueTotals totals;
        Service service("echo", totals);
        const auto t = Clock::time_point{};
        RegisteredWorker a("a", mdp::Version::V02, 0, service, t);
        RegisteredWorker b("b", mdp::Version::V02, 0, service, t);
        RegisteredWorker c("c", mdp::Version::V02, 0, service, t);
        IdleWorkerList list;
        list.pushBack(a);
        list.pushBack(b);
        list.pushBack(c);
        list.pushBack(b); // already listed: stays where it is
        QCOMPARE(list.size(), 3u);
        list.remove(b);
        list.remove(b);
        QCOMPARE(list.size(), 2u);
        QCOMPARE(list.popFront(), &a);
        QCOMPARE(list.popFront(), &c);
        QVERIFY(list.empty());
        QCOMPARE(list.popFront(), nullptr);
    }

    void aServiceKeepsTheTotalsOfItsQueue()
    {
        ServiceRegistry registry;
        const auto t = Clock::time_point{} + 1h;
        Service& echo = registry.findOrCreate("echo").first;
        Service& other = registry.findOrCreate("other").first;
        QVERIFY(!registry.findOrCreate("echo").second);
        echo.enqueue(queued(100, t + 1s));
        echo.enqueue(queued(50, t + 2s));
        other.enqueue(queued(7, t + 1s));
        QCOMPARE(registry.queued().requests, 3u);
        QCOMPARE(registry.queued().bytes, 157u);
        echo.popFront();
        QCOMPARE(registry.queued().bytes, 57u);
        echo.requeueFront(queued(100, t + 1s));
        QCOMPARE(echo.queued(), 2u);
        std::vector<std::size_t> expired;
        const auto next =
            echo.removeExpired(t + 1s, [&](const QueuedRequest& r) { expired.push_back(r.bytes); });
        QCOMPARE(expired, std::vector<std::size_t>{100});
        QCOMPARE(next, t + 2s);
        QCOMPARE(registry.queued().bytes, 57u);
        other.clearQueue([](const QueuedRequest&) {});
        QCOMPARE(registry.queued().requests, 1u);
    }

    // A waiting request's frames in one block (PackedFrames): sizes around the varint steps
    // (127/128, 16383/16384), the largest frame a zmq_msg_t holds (33), and the copy bound
    // (8192 copied, 8193 kept).
    void packedFramesComeBackByteForByte()
    {
        const std::vector<std::size_t> sizes{0, 1, 33, 34, 127, 128, 8192, 8193, 16384, 100000, 0};
        Frames frames;
        std::vector<std::string> original;
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            std::string bytes(sizes[i], '\0');
            for (std::size_t j = 0; j < bytes.size(); ++j) {
                bytes[j] = static_cast<char>((j * 131 + i) % 251);
            }
            original.push_back(bytes);
            frames.emplace_back(bytes.data(), bytes.size());
        }
        const void* large = frames[9].data();
        PackedFrames packed(frames);
        QVERIFY(!packed.empty());
        Frames back = packed.unpack();
        QVERIFY(packed.empty());
        QCOMPARE(back.size(), sizes.size());
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            QCOMPARE(textOf(back[i]), original[i]);
        }
        QCOMPARE(back[9].data(), large); // moved in and out, never copied
    }

    void aServiceKeepsItsWaitingRequestsPackedAndUnpacksTheFront()
    {
        QueueTotals totals;
        Service echo("echo", totals);
        for (const char* id : {"first", "second"}) {
            QueuedRequest request;
            request.frames.emplace_back("client", 6);
            request.frames.emplace_back(id, std::strlen(id));
            request.bytes = 6 + std::strlen(id);
            echo.enqueue(std::move(request));
        }
        for (const QueuedRequest& waiting : echo.queue()) {
            QVERIFY(waiting.frames.empty());
            QVERIFY(!waiting.packed.empty());
        }
        QueuedRequest& front = echo.front();
        QCOMPARE(front.frames.size(), 2u);
        QCOMPARE(textOf(front.frames[1]), std::string("first"));
        QVERIFY(front.packed.empty());
        QCOMPARE(totals.bytes, 23u);
        echo.popFront();
        std::vector<std::string> removed;
        echo.clearQueue([&](const QueuedRequest& r) { removed.push_back(textOf(r.frames.at(1))); });
        QCOMPARE(removed, std::vector<std::string>{"second"});
        QCOMPARE(totals.requests, 0u);
    }

    void expiryFindsDeadlinesOutOfOrder()
    {
        ServiceRegistry registry;
        const auto t = Clock::time_point{} + 1h;
        Service& echo = registry.findOrCreate("echo").first;
        echo.enqueue(queued(1, t + 5s));
        echo.enqueue(queued(2, t + 1s)); // a shorter timeout of its own
        echo.enqueue(queued(3, t + 3s));
        std::vector<std::size_t> expired;
        auto next =
            echo.removeExpired(t + 2s, [&](const QueuedRequest& r) { expired.push_back(r.bytes); });
        QCOMPARE(expired, std::vector<std::size_t>{2});
        QCOMPARE(next, t + 3s);
        QCOMPARE(echo.queued(), 2u);
        QCOMPARE(echo.queue().front().bytes, 1u); // order kept
        next = echo.removeExpired(t + 10s, [](const QueuedRequest&) {});
        QCOMPARE(next, Clock::time_point::max());
        QCOMPARE(registry.queued().requests, 0u);
    }

    // Requests expire by their timeout's lane, not by a pass over the queue. A request requeued
    // at the front may have been received after others still waiting (a worker with credit died
    // holding it): first in line, but not first to expire.
    void aRequeuedRequestIsFirstInLineButExpiresByItsDeadline()
    {
        QueueTotals totals;
        Service echo("echo", totals);
        const auto t = Clock::time_point{} + 1h;
        const auto make = [&](std::size_t bytes, Clock::duration received,
                              Clock::duration timeout) {
            QueuedRequest request = queued(bytes, t + received + timeout);
            request.terms.receivedAt = t + received;
            return request;
        };
        echo.enqueue(make(1, 0s, 5s));
        echo.enqueue(make(2, 1s, 5s));
        echo.enqueue(make(3, 0s, 2s)); // a shorter timeout of its own, behind both
        echo.requeueFront(make(4, 2s, 5s));
        QCOMPARE(echo.queue().front().bytes, 4u);
        std::vector<std::size_t> expired;
        const auto record = [&](const QueuedRequest& r) { expired.push_back(r.bytes); };
        QCOMPARE(echo.removeExpired(t + 2s, record), t + 5s);
        QCOMPARE(expired, std::vector<std::size_t>{3});
        QCOMPARE(echo.removeExpired(t + 5s, record), t + 6s);
        QCOMPARE(expired, (std::vector<std::size_t>{3, 1}));
        QCOMPARE(echo.front().bytes, 4u); // still first in line
        echo.popFront();
        QCOMPARE(echo.front().bytes, 2u);
        QCOMPARE(echo.removeExpired(t + 6s, record), Clock::time_point::max());
        QCOMPARE(expired, (std::vector<std::size_t>{3, 1, 2}));
        QVERIFY(!echo.hasQueued());
        QCOMPARE(totals.requests, 0u);
        QCOMPARE(totals.bytes, 0u);
    }

    void theRegistryForgetsServicesNothingRefersTo()
    {
        ServiceRegistry registry;
        registry.findOrCreate("idle");
        Service& busy = registry.findOrCreate("busy").first;
        busy.enqueue(queued(1, Clock::time_point::max()));
        Service& served = registry.findOrCreate("served").first;
        served.addWorker();
        std::vector<std::string> forgotten;
        registry.forgetUnused([&](const Service& s) { forgotten.push_back(s.name()); });
        QCOMPARE(forgotten, std::vector<std::string>{"idle"});
        QCOMPARE(registry.size(), 2u);
        const auto counts = registry.workerCounts();
        QCOMPARE(counts.size(), 1u);
        QCOMPARE(counts[0].first, std::string("served"));
    }

    void workersAreFoundByIdentityAndConnection()
    {
        ServiceRegistry services;
        Service& echo = services.findOrCreate("echo").first;
        WorkerRegistry workers;
        const auto t = Clock::time_point{} + 1h;
        RegisteredWorker& a = workers.add("a", mdp::Version::V02, 0, echo, {5, "tcp://x:1"}, t);
        workers.add("b", mdp::Version::V01, 0, echo, {5, {}}, t);
        workers.add("c", mdp::Version::V02, 0, echo, {-1, {}}, t);
        QCOMPARE(workers.find("a"), &a);
        QCOMPARE(a.peerAddress(), std::string("tcp://x:1"));
        QCOMPARE(workers.onConnection(5).size(), 2u);
        QCOMPARE(workers.onConnection(-1).size(), 0u); // inproc has no connection to lose
        workers.rememberExpired(a, t + 1s);
        workers.remove(a);
        QCOMPARE(workers.find("a"), nullptr);
        QCOMPARE(workers.onConnection(5).size(), 1u);
        QCOMPARE(workers.expired().size(), 1u);
        // The same identity coming back replaces its expired row.
        workers.add("a", mdp::Version::V02, 0, echo, {6, {}}, t + 2s);
        QCOMPARE(workers.expired().size(), 0u);
    }

    void expiredRowsAreBoundedAndAgeOut()
    {
        ServiceRegistry services;
        Service& echo = services.findOrCreate("echo").first;
        WorkerRegistry workers;
        const auto t = Clock::time_point{} + 1h;
        for (std::size_t i = 0; i < WorkerRegistry::kMaxExpired + 10; ++i) {
            RegisteredWorker& w =
                workers.add("w" + std::to_string(i), mdp::Version::V02, 0, echo, {}, t);
            workers.rememberExpired(w, t + std::chrono::seconds(i));
            workers.remove(w);
        }
        QCOMPARE(workers.expired().size(), WorkerRegistry::kMaxExpired);
        QCOMPARE(workers.expired().front().identity, std::string("w10"));
        workers.pruneExpired(t + 200s);
        QCOMPARE(workers.expired().size(), 0u);
    }

    void mmiAnswersBothForms()
    {
        ServiceRegistry registry;
        registry.findOrCreate("echo").first.addWorker();
        registry.findOrCreate("echo").first.addWorker();
        const WorkerRegistry noWorkers;
        MmiResponder mmi(registry, noWorkers);
        // RFC 8 form: the last frame becomes the status.
        Frames raw;
        raw.emplace_back("echo", 4);
        Frames out;
        mmi.answer("mmi.service", raw, 0, out);
        QCOMPARE(out.size(), 1u);
        QCOMPARE(textOf(out[0]), std::string("200"));
        out.clear();
        Frames workers;
        workers.emplace_back("x", 1);
        mmi.answer("mmi.workers", workers, 0, out);
        QCOMPARE(out.size(), 3u);
        QCOMPARE(textOf(out[1]), std::string("echo"));
        QCOMPARE(textOf(out[2]), std::string("2"));
        // Envelope form: an envelope reply with a msgpack payload.
        Frames envelope;
        msgpack::sbuffer args;
        msgpack::pack(args, std::vector<std::string>{"nothing"});
        rpc::appendRequest(envelope, "id", "call", zmq::message_t(args.data(), args.size()));
        out.clear();
        mmi.answer("mmi.service", envelope, 0, out);
        const rpc::ReplyEnvelope reply = rpc::parseReply(out, 0);
        QCOMPARE(reply.status, rpc::Status::Ok);
        const auto payload =
            msgpack::unpack(static_cast<const char*>(out[2].data()), out[2].size());
        QCOMPARE(payload.get().as<std::string>(), std::string("404"));
        // Unknown MMI service: 501.
        out.clear();
        Frames unknown;
        unknown.emplace_back("x", 1);
        mmi.answer("mmi.nope", unknown, 0, out);
        QCOMPARE(textOf(out.back()), std::string("501"));
    }
};

QTEST_APPLESS_MAIN(TestRoutingEntities)
#include "tst_routingentities.moc"
