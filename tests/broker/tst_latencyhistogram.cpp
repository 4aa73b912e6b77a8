// The broker's latency statistics: the log-bucketed histogram and the sliding windows built on
// it. Time is passed in explicitly, so the window tests run instantly and never sleep.

#include <switchboard/monitoring/latencyhistogram.h>
#include <switchboard/statistics/latencywindow.h>
#include <switchboard/statistics/ratewindow.h>

#include <QTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;

namespace {

using Clock = LatencyWindow::Clock;

// A second boundary far from the clock's epoch, so slot arithmetic is exercised as in production.
const Clock::time_point kStart{std::chrono::hours(1000)};

// The exact value the histogram approximates: the smallest sample with at least q * n samples
// at or below it.
std::uint64_t exactPercentile(std::vector<std::uint64_t> samples, double q)
{
    std::sort(samples.begin(), samples.end());
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(static_cast<double>(samples.size()) * q)));
    return samples[rank - 1];
}

std::vector<std::uint64_t> distribution(int kind)
{
    std::mt19937_64 random(4242 + static_cast<unsigned>(kind));
    std::vector<std::uint64_t> samples;
    samples.reserve(20000);
    for (int i = 0; i < 20000; ++i) {
        double value = 0;
        switch (kind) {
        case 0: // uniform 1 us .. 1 s
            value = std::uniform_real_distribution<double>(1, 1e6)(random);
            break;
        case 1: // exponential, mean 2 ms: the usual shape of service times
            value = std::exponential_distribution<double>(1.0 / 2000)(random);
            break;
        case 2: // log-normal with a long tail
            value = std::lognormal_distribution<double>(7, 1.5)(random);
            break;
        case 3: // bimodal: a fast path and a slow 1 %
            value = i % 100 == 0 ? std::normal_distribution<double>(50000, 5000)(random)
                                 : std::normal_distribution<double>(120, 10)(random);
            break;
        default: // small values, below and around the exact range
            value = std::uniform_int_distribution<int>(0, 40)(random);
            break;
        }
        samples.push_back(static_cast<std::uint64_t>(std::max(0.0, value)));
    }
    return samples;
}

} // namespace

class TestLatencyHistogram : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void emptyReportsZero();
    void smallValuesAreExact();
    void percentilesWithinRelativeError_data();
    void percentilesWithinRelativeError();
    void maxIsExact();
    void hugeValuesClampIntoTheTopBucket();
    void mergeEqualsRecordingEverything();
    void windowForgetsOldSamples();
    void windowCoversTheLastTenSeconds();
    void windowReusesASlotForANewSecond();
    void windowAfterLongSilence();
    void rateOverTheWindow();
    void rateOfAYoungMeterCountsAtLeastASecond();
};

void TestLatencyHistogram::emptyReportsZero()
{
    const LatencyHistogram histogram;
    QCOMPARE(histogram.count(), std::uint64_t(0));
    QCOMPARE(histogram.percentile(0.5), std::uint64_t(0));
    QCOMPARE(histogram.summary(), LatencySummary{});
    const LatencyWindow window;
    QCOMPARE(window.summary(kStart), LatencySummary{});
}

void TestLatencyHistogram::smallValuesAreExact()
{
    for (std::uint64_t value = 0; value < LatencyHistogram::kSubBuckets * 2; ++value) {
        LatencyHistogram histogram;
        histogram.record(value);
        QCOMPARE(histogram.percentile(0.5), value);
        QCOMPARE(histogram.max(), value);
    }
}

void TestLatencyHistogram::percentilesWithinRelativeError_data()
{
    QTest::addColumn<int>("kind");
    QTest::newRow("uniform 1 us .. 1 s") << 0;
    QTest::newRow("exponential, mean 2 ms") << 1;
    QTest::newRow("log-normal") << 2;
    QTest::newRow("bimodal, 1 % slow") << 3;
    QTest::newRow("small integers") << 4;
}

void TestLatencyHistogram::percentilesWithinRelativeError()
{
    QFETCH(int, kind);
    const auto samples = distribution(kind);
    LatencyHistogram histogram;
    for (const auto sample : samples) {
        histogram.record(sample);
    }
    QCOMPARE(histogram.count(), std::uint64_t(samples.size()));
    for (const double q : {0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
        const auto exact = static_cast<double>(exactPercentile(samples, q));
        const auto reported = static_cast<double>(histogram.percentile(q));
        const double error = std::abs(reported - exact);
        QVERIFY2(error <= exact * LatencyHistogram::kRelativeError,
                 qPrintable(QStringLiteral("p%1: reported %2, exact %3 (error %4 %)")
                                .arg(q * 100)
                                .arg(reported)
                                .arg(exact)
                                .arg(exact > 0 ? 100 * error / exact : 0)));
    }
    QCOMPARE(histogram.max(), *std::max_element(samples.begin(), samples.end()));
    // The one-pass summary a snapshot uses says the same as the percentiles one by one.
    const LatencySummary summary = histogram.summary();
    QCOMPARE(summary.count, histogram.count());
    QCOMPARE(summary.p50Us, histogram.percentile(0.50));
    QCOMPARE(summary.p95Us, histogram.percentile(0.95));
    QCOMPARE(summary.p99Us, histogram.percentile(0.99));
    QCOMPARE(summary.maxUs, histogram.max());
}

void TestLatencyHistogram::maxIsExact()
{
    LatencyHistogram histogram;
    for (std::uint64_t value : {10u, 2000u, 987654321u, 45u}) {
        histogram.record(value);
    }
    QCOMPARE(histogram.max(), std::uint64_t(987654321));
    // The top percentile is the maximum itself, not the middle of its bucket.
    QCOMPARE(histogram.percentile(1.0), std::uint64_t(987654321));
    QCOMPARE(histogram.summary().maxUs, std::uint64_t(987654321));
}

void TestLatencyHistogram::hugeValuesClampIntoTheTopBucket()
{
    LatencyHistogram histogram;
    histogram.record(std::numeric_limits<std::uint64_t>::max());
    histogram.record(LatencyHistogram::kHighestTrackable * 1000);
    histogram.record(5);
    QCOMPARE(histogram.count(), std::uint64_t(3));
    QCOMPARE(histogram.max(), std::numeric_limits<std::uint64_t>::max());
    QCOMPARE(histogram.percentile(0.1), std::uint64_t(5));
    const auto clamped = static_cast<double>(histogram.percentile(0.9));
    const auto top = static_cast<double>(LatencyHistogram::kHighestTrackable);
    QVERIFY2(std::abs(clamped - top) <= top * LatencyHistogram::kRelativeError,
             qPrintable(QString::number(clamped)));
}

void TestLatencyHistogram::mergeEqualsRecordingEverything()
{
    const auto samples = distribution(2);
    LatencyHistogram all;
    LatencyHistogram first;
    LatencyWindow::SlotHistogram second; // a window slot, merged into a since-start histogram
    for (std::size_t i = 0; i < samples.size(); ++i) {
        all.record(samples[i]);
        if (i % 3 == 0) {
            first.record(samples[i]);
        } else {
            second.record(samples[i]);
        }
    }
    LatencyHistogram merged;
    merged.merge(first);
    merged.merge(second);
    QCOMPARE(merged.count(), all.count());
    QCOMPARE(merged.max(), all.max());
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
        QCOMPARE(merged.bucketCount(i), all.bucketCount(i));
    }
    QCOMPARE(merged.summary(), all.summary());
}

void TestLatencyHistogram::windowForgetsOldSamples()
{
    LatencyWindow window;
    window.record(100, kStart);
    window.record(200, kStart + 5s);
    QCOMPARE(window.summary(kStart + 5s).count, std::uint64_t(2));
    QCOMPARE(window.summary(kStart + 5s).maxUs, std::uint64_t(200));

    const auto later = window.summary(kStart + 10500ms);
    QCOMPARE(later.count, std::uint64_t(1));
    QCOMPARE(later.p50Us, std::uint64_t(200));
    QCOMPARE(later.maxUs, std::uint64_t(200)); // the old maximum went with its slot

    QCOMPARE(window.summary(kStart + 15500ms), LatencySummary{});
}

void TestLatencyHistogram::windowCoversTheLastTenSeconds()
{
    LatencyWindow window;
    window.record(7, kStart); // at the very start of a slot
    QCOMPARE(window.summary(kStart + 9999ms).count, std::uint64_t(1));
    QCOMPARE(window.summary(kStart + 10000ms).count, std::uint64_t(0));

    LatencyWindow late;
    late.record(7, kStart + 999ms); // at the very end of the same slot
    QCOMPARE(late.summary(kStart + 9999ms).count, std::uint64_t(1));
    QCOMPARE(late.summary(kStart + 10000ms).count, std::uint64_t(0));
    QCOMPARE(LatencyWindow::kSpanMs, std::int64_t(10000));
}

void TestLatencyHistogram::windowReusesASlotForANewSecond()
{
    LatencyWindow window;
    for (int i = 0; i < 50; ++i) {
        window.record(1000, kStart + 300ms);
    }
    // Ten seconds on the same slot of the ring: what it held must not leak into the new second.
    window.record(5, kStart + 10300ms);
    const auto summary = window.summary(kStart + 10300ms);
    QCOMPARE(summary.count, std::uint64_t(1));
    QCOMPARE(summary.maxUs, std::uint64_t(5));
}

void TestLatencyHistogram::windowAfterLongSilence()
{
    LatencyWindow window;
    for (int s = 0; s < 10; ++s) {
        window.record(static_cast<std::uint64_t>(s), kStart + std::chrono::seconds(s));
    }
    QCOMPARE(window.summary(kStart + 9s).count, std::uint64_t(10));
    QCOMPARE(window.summary(kStart + 1h).count, std::uint64_t(0));
    window.record(42, kStart + 1h);
    const auto summary = window.summary(kStart + 1h);
    QCOMPARE(summary.count, std::uint64_t(1));
    QCOMPARE(summary.p99Us, std::uint64_t(42));
}

void TestLatencyHistogram::rateOverTheWindow()
{
    RateWindow rate;
    // Created long before: 10 a second for 20 s, then silence.
    const auto created = kStart - 1h;
    for (int i = 0; i < 200; ++i) {
        rate.add(kStart + std::chrono::milliseconds(i * 100));
    }
    const auto at = kStart + 20s;
    const double perSecond = rate.perSecond(at, created);
    // The window then holds seconds 11..19 (90 events) and the current second, which has only
    // just begun: 90 events over the 9 s covered, not over the nominal 10.
    QVERIFY2(std::abs(perSecond - 10.0) < 0.01, qPrintable(QString::number(perSecond)));
    QCOMPARE(rate.sum(kStart + 40s), std::uint64_t(0));
    QCOMPARE(rate.perSecond(kStart + 40s, created), 0.0);
}

void TestLatencyHistogram::rateOfAYoungMeterCountsAtLeastASecond()
{
    RateWindow rate;
    rate.add(kStart + 50ms, 3);
    QCOMPARE(rate.perSecond(kStart + 100ms, kStart), 3.0);
    QCOMPARE(rate.perSecond(kStart + 4s, kStart), 0.75);
}

QTEST_GUILESS_MAIN(TestLatencyHistogram)
#include "tst_latencyhistogram.moc"
