// HeldReplies: the rules for answers a client could not take yet, without sockets. A fake
// client pipe with room for a given number of messages stands in for the frontend.

#include <switchboard/routing/heldreplies.h>

#include <QTest>

#include <map>
#include <string>
#include <vector>

using namespace switchboard;

namespace {

using Delivery = HeldReplies::Delivery;
using Admission = HeldReplies::Admission;

Frames reply(const std::string& client, const std::string& body)
{
    Frames frames;
    frames.emplace_back(client.data(), client.size());
    frames.emplace_back(body.data(), body.size());
    return frames;
}

// What clients would read: each has a pipe with `room` free slots; a client not in `rooms` is
// gone.
struct FakeFrontend {
    std::map<std::string, int> rooms;
    std::map<std::string, std::vector<std::string>> received;
    int attempts = 0;

    Delivery operator()(Frames& frames)
    {
        ++attempts;
        const std::string client(frameView(frames[0]));
        auto room = rooms.find(client);
        if (room == rooms.end()) {
            return Delivery::Gone;
        }
        if (room->second == 0) {
            return Delivery::WouldBlock;
        }
        --room->second;
        received[client].emplace_back(frameView(frames[1]));
        frames.clear(); // moved out, as the socket does
        return Delivery::Sent;
    }
};

HeldReplies::FlushReport flush(HeldReplies& held, FakeFrontend& frontend)
{
    return held.flush([&](Frames& frames) { return frontend(frames); });
}

} // namespace

class TestHeldReplies : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void deliversInOrderOnceTheClientReads();
    void onlyTheSlowClientWaits();
    void refusesNewRequestsPastTheClientBound();
    void refusesSlowClientsPastTheTotalBound();
    void discardsOnceRefusalsFillTheBound();
    void releasesWhatAGoneClientHeld();
    void countsBookkeepingOfSmallFrames();
};

void TestHeldReplies::deliversInOrderOnceTheClientReads()
{
    HeldReplies held({1 << 20, 1 << 20});
    QVERIFY(held.hold(reply("c", "r0"))); // the first one says: it stopped reading
    QVERIFY(!held.hold(reply("c", "r1")));
    QVERIFY(!held.hold(reply("c", "r2")));
    QVERIFY(held.isHolding("c"));
    QCOMPARE(held.replies(), std::size_t(3));

    FakeFrontend frontend;
    frontend.rooms["c"] = 0; // still not reading
    auto report = flush(held, frontend);
    QCOMPARE(report.delivered, std::size_t(0));
    QCOMPARE(frontend.attempts, 1); // one try per client, not per answer
    QCOMPARE(held.replies(), std::size_t(3));

    frontend.rooms["c"] = 2; // it read a little
    report = flush(held, frontend);
    QCOMPARE(report.delivered, std::size_t(2));
    QCOMPARE(frontend.received["c"], (std::vector<std::string>{"r0", "r1"}));
    QVERIFY(held.isHolding("c"));

    held.hold(reply("c", "r3")); // a later answer queues behind, never before
    frontend.rooms["c"] = 10;
    report = flush(held, frontend);
    QCOMPARE(report.delivered, std::size_t(2));
    QCOMPARE(frontend.received["c"], (std::vector<std::string>{"r0", "r1", "r2", "r3"}));
    // Reading again: nothing held, its answers go straight out.
    QVERIFY(!held.isHolding("c"));
    QVERIFY(held.empty());
    QCOMPARE(held.bytes(), std::size_t(0));
}

void TestHeldReplies::onlyTheSlowClientWaits()
{
    HeldReplies held({1 << 20, 1 << 20});
    held.hold(reply("slow", "a"));
    QVERIFY(!held.isHolding("fast"));
    QCOMPARE(held.admit("fast").admission, Admission::Accept);
    QCOMPARE(held.admit("slow").admission, Admission::Accept); // below its bound
    QCOMPARE(held.clients(), std::size_t(1));
}

void TestHeldReplies::refusesNewRequestsPastTheClientBound()
{
    const std::string body(1000, 'x');
    const std::size_t each = HeldReplies::footprint(reply("c", body));
    HeldReplies held({3 * each, 100 * each});
    held.hold(reply("c", body));
    held.hold(reply("c", body));
    QCOMPARE(held.admit("c").admission, Admission::Accept);
    held.hold(reply("c", body));
    auto decision = held.admit("c");
    QCOMPARE(decision.admission, Admission::RefuseClient);
    QVERIFY(decision.newlyAtBound);
    QCOMPARE(decision.clientBytes, 3 * each);
    QCOMPARE(held.clientsAtBound(), std::size_t(1));
    // Still over: refused again, but it is not news.
    decision = held.admit("c");
    QCOMPARE(decision.admission, Admission::RefuseClient);
    QVERIFY(!decision.newlyAtBound);

    // Answers of work already accepted are kept however far past the bound.
    for (int i = 0; i < 10; ++i) {
        held.hold(reply("c", body));
    }
    QCOMPARE(held.replies(), std::size_t(13));

    // Just below the bound is not enough: it would flap between OK and QueueFull while libzmq
    // moves a little now and then. Below half of it, it is served again.
    FakeFrontend frontend;
    frontend.rooms["c"] = 11;
    flush(held, frontend);
    QCOMPARE(held.replies(), std::size_t(2));
    QCOMPARE(held.admit("c").admission, Admission::RefuseClient);
    QCOMPARE(held.clientsAtBound(), std::size_t(1));
    frontend.rooms["c"] = 1;
    flush(held, frontend);
    QCOMPARE(held.replies(), std::size_t(1));
    QCOMPARE(held.clientsAtBound(), std::size_t(0));
    decision = held.admit("c");
    QCOMPARE(decision.admission, Admission::Accept);
    QVERIFY(!decision.newlyAtBound);
    held.hold(reply("c", body));
    held.hold(reply("c", body));
    QVERIFY(held.admit("c").newlyAtBound); // a new episode is news again
}

void TestHeldReplies::refusesSlowClientsPastTheTotalBound()
{
    const std::string body(1000, 'x');
    const std::size_t each = HeldReplies::footprint(reply("a", body));
    HeldReplies held({10 * each, 4 * each});
    for (const char* client : {"a", "b", "a", "b"}) {
        held.hold(reply(client, body));
    }
    QCOMPARE(held.admit("a").admission, Admission::RefuseTotal);
    QCOMPARE(held.admit("b").admission, Admission::RefuseTotal);
    QCOMPARE(held.admit("reader").admission, Admission::Accept); // reads: not its doing
    QCOMPARE(held.clientsAtBound(), std::size_t(2));
}

void TestHeldReplies::discardsOnceRefusalsFillTheBound()
{
    const std::string body(1000, 'x');
    const std::size_t each = HeldReplies::footprint(reply("c", body));
    HeldReplies held({2 * each, 100 * each});
    // Answers of accepted work, far past the bound: refused, never discarded for them. This
    // used to discard new requests at twice the bound, which a client with many requests in
    // flight reached by answers alone and then lost requests without a word.
    for (int i = 0; i < 10; ++i) {
        held.hold(reply("c", body));
    }
    QCOMPARE(held.admit("c").admission, Admission::RefuseClient);
    QVERIFY(!held.isPastHardBound("c"));
    // Its refusals are held as well, until they alone fill the bound.
    held.hold(reply("c", body), HeldReplies::Kind::Refusal);
    QCOMPARE(held.admit("c").admission, Admission::RefuseClient);
    held.hold(reply("c", body), HeldReplies::Kind::Refusal);
    QCOMPARE(held.admit("c").admission, Admission::Discard);
    QVERIFY(held.isPastHardBound("c"));
    QVERIFY(!held.isPastHardBound("other"));

    // Reading makes room for refusals again, and then for requests.
    FakeFrontend frontend;
    frontend.rooms["c"] = 11; // ten answers and a refusal
    flush(held, frontend);
    QCOMPARE(held.replies(), std::size_t(1));
    QCOMPARE(held.admit("c").admission, Admission::RefuseClient);
    frontend.rooms["c"] = 1;
    flush(held, frontend);
    QCOMPARE(held.admit("c").admission, Admission::Accept);
}

void TestHeldReplies::releasesWhatAGoneClientHeld()
{
    HeldReplies held({1 << 20, 1 << 20});
    held.hold(reply("gone", "a"));
    held.hold(reply("gone", "b"));
    held.hold(reply("here", "c"));
    const std::size_t goneBytes = held.bytesOf("gone");
    QVERIFY(goneBytes > 0);

    FakeFrontend frontend;
    frontend.rooms["here"] = 0;
    const auto report = flush(held, frontend);
    QCOMPARE(report.released.size(), std::size_t(1));
    QCOMPARE(report.released[0].client, std::string("gone"));
    QCOMPARE(report.released[0].replies, std::size_t(2));
    QCOMPARE(report.released[0].bytes, goneBytes);
    QVERIFY(!held.isHolding("gone"));
    QCOMPARE(held.replies(), std::size_t(1));
    QCOMPARE(held.bytes(), held.bytesOf("here"));

    const auto rest = held.releaseAll();
    QCOMPARE(rest.size(), std::size_t(1));
    QVERIFY(held.empty());
    QCOMPARE(held.bytes(), std::size_t(0));
}

void TestHeldReplies::countsBookkeepingOfSmallFrames()
{
    // A flood of tiny refusals must be bounded in memory, not only in payload bytes.
    const Frames tiny = reply("c", "");
    QCOMPARE(HeldReplies::footprint(tiny), 1 + 2 * HeldReplies::kFrameOverhead);
}

QTEST_GUILESS_MAIN(TestHeldReplies)
#include "tst_heldreplies.moc"
