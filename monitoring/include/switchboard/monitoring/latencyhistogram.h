#pragma once

#include <switchboard/monitoring/brokersnapshot.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace switchboard {

// A distribution of latencies in microseconds, bucketed like HdrHistogram: values below 16 get a
// bucket each, and every power of two above is split into 16 equal sub-buckets, so a bucket is
// never wider than 1/16 of the values it holds. A percentile is reported as the middle of its
// bucket, which is within kRelativeError (1/32, about 3.1 %) of the exact value; the maximum is
// kept exactly. Recording is an increment in a fixed array: no allocation, no branch on the size
// of the distribution. Values from 2^32 us (71 minutes) up share the top bucket.
//
// `Count` is the counter type: 32 bits for the one-second slots of a LatencyWindow (which hold a
// window's worth of requests at most), 64 bits for distributions since the broker started.
template <typename Count>
class BasicLatencyHistogram {
public:
    static constexpr unsigned kSubBucketBits = 4;
    static constexpr std::uint64_t kSubBuckets = std::uint64_t(1) << kSubBucketBits;
    static constexpr unsigned kValueBits = 32;
    static constexpr std::uint64_t kHighestTrackable = (std::uint64_t(1) << kValueBits) - 1;
    static constexpr std::size_t kBuckets =
        kSubBuckets + (kValueBits - kSubBucketBits) * kSubBuckets;
    static constexpr double kRelativeError = 1.0 / double(2 * kSubBuckets);

    void record(std::uint64_t us) noexcept
    {
        ++m_counts[indexOf(us)];
        ++m_count;
        m_max = std::max(m_max, us);
    }

    std::uint64_t count() const noexcept { return m_count; }
    bool empty() const noexcept { return m_count == 0; }
    std::uint64_t max() const noexcept { return m_max; }
    Count bucketCount(std::size_t index) const noexcept { return m_counts[index]; }

    void clear() noexcept
    {
        m_counts.fill(0);
        m_count = 0;
        m_max = 0;
    }

    template <typename OtherCount>
    void merge(const BasicLatencyHistogram<OtherCount>& other) noexcept
    {
        if (other.empty()) {
            return;
        }
        for (std::size_t i = 0; i < kBuckets; ++i) {
            m_counts[i] += static_cast<Count>(other.bucketCount(i));
        }
        m_count += other.count();
        m_max = std::max(m_max, other.max());
    }

    // The buckets that hold values, as a snapshot carries them (MethodStats).
    LatencyBuckets buckets() const
    {
        LatencyBuckets held;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            if (m_counts[i] != 0) {
                held.push_back({static_cast<std::uint64_t>(i), std::uint64_t{m_counts[i]}});
            }
        }
        return held;
    }

    // Adds another histogram as a snapshot carries it: its buckets and its exact maximum. Buckets
    // outside this layout (a corrupt or hostile snapshot) are skipped, not trusted.
    void merge(const LatencyBuckets& buckets, std::uint64_t maxUs) noexcept
    {
        bool any = false;
        for (const LatencyBucket& bucket : buckets) {
            if (bucket.index < kBuckets && bucket.count != 0) {
                m_counts[bucket.index] += static_cast<Count>(bucket.count);
                m_count += bucket.count;
                any = true;
            }
        }
        if (any) {
            m_max = std::max(m_max, maxUs);
        }
    }

    // The value at quantile q (0 < q <= 1): the smallest recorded value v such that at least
    // q * count() values are <= v, within kRelativeError. 0 when empty.
    std::uint64_t percentile(double q) const noexcept
    {
        if (m_count == 0) {
            return 0;
        }
        const std::uint64_t rank = rankOf(q);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            seen += m_counts[i];
            if (seen >= rank) {
                return std::min(middleOf(i), m_max);
            }
        }
        return m_max;
    }

    // p50, p95 and p99 in one pass over the buckets: a snapshot takes thousands of these.
    LatencySummary summary() const noexcept
    {
        LatencySummary summary;
        summary.count = m_count;
        summary.maxUs = m_max;
        if (m_count == 0) {
            return summary;
        }
        const std::array<std::uint64_t, 3> ranks{rankOf(0.50), rankOf(0.95), rankOf(0.99)};
        const std::array<std::uint64_t*, 3> values{&summary.p50Us, &summary.p95Us, &summary.p99Us};
        std::size_t next = 0;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < kBuckets && next < ranks.size(); ++i) {
            seen += m_counts[i];
            while (next < ranks.size() && seen >= ranks[next]) {
                *values[next++] = std::min(middleOf(i), m_max);
            }
        }
        return summary;
    }

    static constexpr std::size_t indexOf(std::uint64_t us) noexcept
    {
        const std::uint64_t value = std::min(us, kHighestTrackable);
        if (value < kSubBuckets) {
            return static_cast<std::size_t>(value);
        }
        const unsigned exponent = static_cast<unsigned>(std::bit_width(value)) - 1;
        const unsigned shift = exponent - kSubBucketBits;
        const std::uint64_t sub = (value >> shift) - kSubBuckets;
        return static_cast<std::size_t>(kSubBuckets + shift * kSubBuckets + sub);
    }

    static constexpr std::uint64_t lowestOf(std::size_t index) noexcept
    {
        if (index < kSubBuckets) {
            return index;
        }
        const std::uint64_t shift = (index - kSubBuckets) / kSubBuckets;
        const std::uint64_t sub = (index - kSubBuckets) % kSubBuckets;
        return (kSubBuckets + sub) << shift;
    }

    static constexpr std::uint64_t widthOf(std::size_t index) noexcept
    {
        return index < kSubBuckets ? 1 : std::uint64_t(1) << ((index - kSubBuckets) / kSubBuckets);
    }

    static constexpr std::uint64_t middleOf(std::size_t index) noexcept
    {
        return lowestOf(index) + widthOf(index) / 2;
    }

private:
    // The 1-based rank of the value at quantile q: at least one, at most count().
    std::uint64_t rankOf(double q) const noexcept
    {
        const auto wanted = static_cast<double>(m_count) * std::clamp(q, 0.0, 1.0);
        return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::ceil(wanted)), 1, m_count);
    }

    std::array<Count, kBuckets> m_counts{};
    std::uint64_t m_count = 0;
    std::uint64_t m_max = 0;
};

using LatencyHistogram = BasicLatencyHistogram<std::uint64_t>;

} // namespace switchboard
