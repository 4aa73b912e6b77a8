// The histograms a snapshot carries per method (MethodStats::windowTotalBuckets,
// sinceStartTotalBuckets, and for Prometheus sinceStartQueueWaitBuckets with the sums and the
// outcomes): the codec round-trips them, a snapshot from a broker older than them still decodes,
// and the buckets rebuild the broker's own summary with LatencyHistogram's rules.

#include <switchboard/monitoring/latencyhistogram.h>
#include <switchboard/monitoring/snapshotcodec.h>

#include <QTest>

#include <msgpack.hpp>

#include <cmath>
#include <string>
#include <string_view>

using namespace switchboard;

namespace {

MethodStats measured()
{
    LatencyHistogram window;
    LatencyHistogram total;
    for (std::uint64_t us : {3ull, 3ull, 17ull, 950ull, 1200ull, 48'000ull, 5'000'000'000ull}) {
        window.record(us);
        total.record(us);
    }
    total.record(120'000);
    MethodStats method;
    method.service = QStringLiteral("search");
    method.method = QStringLiteral("query");
    method.calls = 8;
    method.window.total = window.summary();
    method.sinceStart.total = total.summary();
    method.windowTotalBuckets = window.buckets();
    method.sinceStartTotalBuckets = total.buckets();
    LatencyHistogram queueWait;
    queueWait.record(40);
    method.sinceStart.queueWait = queueWait.summary();
    method.sinceStartQueueWaitBuckets = queueWait.buckets();
    method.sinceStartTotalSumUs = 5'000'173'293;
    method.sinceStartQueueWaitSumUs = 40;
    method.outcomes = {5, 1, 0, 0, 1, 1, 0};
    return method;
}

// Packs `object` as it is, minus the method (and service) keys an older broker did not write.
void packWithoutHistograms(msgpack::packer<msgpack::sbuffer>& packer, const msgpack::object& object)
{
    if (object.type == msgpack::type::MAP) {
        std::uint32_t kept = 0;
        const auto dropped = [](const msgpack::object& key) {
            const std::string_view name = key.type == msgpack::type::STR
                                              ? std::string_view(key.via.str.ptr, key.via.str.size)
                                              : std::string_view();
            return name == "windowTotalBuckets" || name == "sinceStartTotalBuckets" ||
                   name == "sinceStartQueueWaitBuckets" || name == "sinceStartTotalSumUs" ||
                   name == "sinceStartQueueWaitSumUs" || name == "outcomes" ||
                   name == "queuedBytes";
        };
        for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
            kept += dropped(object.via.map.ptr[i].key) ? 0 : 1;
        }
        packer.pack_map(kept);
        for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
            if (!dropped(object.via.map.ptr[i].key)) {
                packer.pack(object.via.map.ptr[i].key);
                packWithoutHistograms(packer, object.via.map.ptr[i].val);
            }
        }
    } else if (object.type == msgpack::type::ARRAY) {
        packer.pack_array(object.via.array.size);
        for (std::uint32_t i = 0; i < object.via.array.size; ++i) {
            packWithoutHistograms(packer, object.via.array.ptr[i]);
        }
    } else {
        packer.pack(object);
    }
}

} // namespace

class TestMethodHistograms : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void bucketsRebuildTheSummary();
    void codecRoundTripsTheHistograms();
    void snapshotWithoutHistogramsDecodes();
    void bucketsOutsideTheLayoutAreSkipped();
    void histogramsAreCompact();
};

void TestMethodHistograms::bucketsRebuildTheSummary()
{
    const MethodStats method = measured();
    LatencyHistogram rebuilt;
    rebuilt.merge(method.windowTotalBuckets, method.window.total.maxUs);
    QCOMPARE(rebuilt.summary(), method.window.total);
    // Sparse: only the buckets that hold values, in rising order.
    QCOMPARE(method.windowTotalBuckets.size(), qsizetype{6});
    QCOMPARE(method.windowTotalBuckets.front().index, std::uint64_t{3});
    QCOMPARE(method.windowTotalBuckets.front().count, std::uint64_t{2});
    QCOMPARE(method.windowTotalBuckets.back().index, LatencyHistogram::kBuckets - 1);
}

void TestMethodHistograms::codecRoundTripsTheHistograms()
{
    BrokerSnapshot snapshot;
    snapshot.methods = {measured(), MethodStats{}};
    snapshot.methods[1].service = QStringLiteral("idle");
    const BrokerSnapshot decoded = snapshotcodec::decode(snapshotcodec::encode(snapshot));
    QCOMPARE(decoded.methods.size(), qsizetype{2});
    QCOMPARE(decoded.methods[0].windowTotalBuckets, snapshot.methods[0].windowTotalBuckets);
    QCOMPARE(decoded.methods[0].sinceStartTotalBuckets, snapshot.methods[0].sinceStartTotalBuckets);
    QCOMPARE(decoded.methods[0].sinceStartQueueWaitBuckets,
             snapshot.methods[0].sinceStartQueueWaitBuckets);
    QCOMPARE(decoded.methods[0].sinceStartTotalSumUs, std::uint64_t{5'000'173'293});
    QCOMPARE(decoded.methods[0].outcomes, snapshot.methods[0].outcomes);
    QCOMPARE(decoded.methods[0].outcomes.sum(), decoded.methods[0].calls);
    QVERIFY(decoded.methods[1].windowTotalBuckets.isEmpty());
    QVERIFY(decoded == snapshot);
}

void TestMethodHistograms::snapshotWithoutHistogramsDecodes()
{
    BrokerSnapshot snapshot;
    snapshot.version = QStringLiteral("0.1.0");
    snapshot.methods = {measured()};
    snapshot.services = {ServiceStats{}};
    snapshot.services[0].queuedBytes = 1000;
    const std::string bytes = snapshotcodec::encode(snapshot);
    const msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
    msgpack::sbuffer older;
    msgpack::packer<msgpack::sbuffer> packer(older);
    packWithoutHistograms(packer, handle.get());
    QVERIFY(std::string_view(older.data(), older.size()).find("TotalBuckets") ==
            std::string_view::npos);

    const BrokerSnapshot decoded =
        snapshotcodec::decode(std::string_view(older.data(), older.size()));
    QCOMPARE(decoded.methods.size(), qsizetype{1});
    QCOMPARE(decoded.methods[0].window.total, snapshot.methods[0].window.total);
    QVERIFY(decoded.methods[0].windowTotalBuckets.isEmpty());
    QVERIFY(decoded.methods[0].sinceStartTotalBuckets.isEmpty());
    QVERIFY(decoded.methods[0].sinceStartQueueWaitBuckets.isEmpty());
    QCOMPARE(decoded.methods[0].sinceStartTotalSumUs, std::uint64_t{0});
    QCOMPARE(decoded.methods[0].outcomes, RequestOutcomes{});
    QCOMPARE(decoded.services[0].queuedBytes, std::uint64_t{0});
}

void TestMethodHistograms::bucketsOutsideTheLayoutAreSkipped()
{
    LatencyHistogram histogram;
    histogram.merge({{LatencyHistogram::kBuckets, 5}, {20, 2}}, 40);
    QCOMPARE(histogram.count(), std::uint64_t{2});
    QCOMPARE(histogram.max(), std::uint64_t{40});
}

void TestMethodHistograms::histogramsAreCompact()
{
    // 10,000 calls from 100 µs to 100 ms, long-tailed: what a busy method's window holds. Three
    // decades are 160 buckets, about 3.7 bytes each as [index, count].
    LatencyHistogram histogram;
    std::uint64_t state = 12345;
    for (int i = 0; i < 10'000; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const double u = static_cast<double>(state >> 11) / static_cast<double>(1ull << 53);
        histogram.record(static_cast<std::uint64_t>(100 * std::pow(1000.0, u * u)));
    }
    BrokerSnapshot without;
    without.methods = {MethodStats{}};
    without.methods[0].window.total = histogram.summary();
    without.methods[0].sinceStart.total = histogram.summary();
    BrokerSnapshot with = without;
    with.methods[0].windowTotalBuckets = histogram.buckets();
    with.methods[0].sinceStartTotalBuckets = histogram.buckets();
    const auto added = snapshotcodec::encode(with).size() - snapshotcodec::encode(without).size();
    qInfo("%lld buckets; a method's two histograms add %zu bytes to a snapshot",
          static_cast<long long>(histogram.buckets().size()), added);
    QVERIFY2(added < 1500, qPrintable(QString::number(added))); // 1,170 when written
}

QTEST_MAIN(TestMethodHistograms)
#include "tst_methodhistograms.moc"
