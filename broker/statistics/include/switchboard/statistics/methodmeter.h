#pragma once

#include <switchboard/monitoring/latencyhistogram.h>
#include <switchboard/routing/routingobserver.h>
#include <switchboard/statistics/latencywindow.h>
#include <switchboard/statistics/ratewindow.h>

#include <switchboard/monitoring/brokersnapshot.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace switchboard {

// The statistics of one method of one service. Recording is O(1) and never allocates: a few
// counter increments and six histogram buckets (window and since start, for queue wait, service
// time and their sum). About 67 KiB each, which is why BrokerStatistics bounds their number.
class MethodMeter : public MeterSlot {
public:
    using Clock = std::chrono::steady_clock;

    MethodMeter(std::string service, std::string name, Clock::time_point now)
        : m_service(std::move(service))
        , m_name(std::move(name))
        , m_createdAt(now)
    {}
    MethodMeter(const MethodMeter&) = delete;
    MethodMeter& operator=(const MethodMeter&) = delete;

    const std::string& service() const noexcept { return m_service; }
    const std::string& name() const noexcept { return m_name; }

    // A final answer from a worker, successful or an error reply.
    void recordAnswer(Clock::duration queueWait, Clock::duration serviceTime, bool error,
                      Clock::time_point now) noexcept
    {
        const std::uint64_t waitUs = microseconds(queueWait);
        const std::uint64_t serviceUs = microseconds(serviceTime);
        m_queueWait.record(waitUs);
        m_serviceTime.record(serviceUs);
        m_total.record(waitUs + serviceUs);
        m_queueWaitSumUs += waitUs;
        m_totalSumUs += waitUs + serviceUs;
        ++(error ? m_outcomes.error : m_outcomes.ok);
        m_queueWaitWindow.record(waitUs, now);
        m_serviceTimeWindow.record(serviceUs, now);
        m_totalWindow.record(waitUs + serviceUs, now);
        count(error, now);
    }

    // An error the broker answered itself (Expired, WorkerLost, QueueFull, ...), counted in
    // `outcome` (&RequestOutcomes::expired, ...). It counts as a call and an error, but not in
    // the latencies: those describe what workers took, and a purged worker's 7.5 s would drown
    // them.
    void recordBrokerError(std::uint64_t RequestOutcomes::*outcome, Clock::time_point now) noexcept
    {
        ++(m_outcomes.*outcome);
        count(true, now);
    }

    MethodStats stats(Clock::time_point now) const
    {
        MethodStats stats;
        stats.service =
            QString::fromUtf8(m_service.data(), static_cast<qsizetype>(m_service.size()));
        stats.method = QString::fromUtf8(m_name.data(), static_cast<qsizetype>(m_name.size()));
        // Every answer lands in exactly one outcome, so the totals are theirs.
        stats.calls = m_outcomes.sum();
        stats.errors = stats.calls - m_outcomes.ok;
        stats.callsPerSecond = m_callRate.perSecond(now, m_createdAt);
        stats.errorsPerSecond = m_errorRate.perSecond(now, m_createdAt);
        LatencyHistogram windowTotal;
        m_totalWindow.mergeInto(windowTotal, now);
        stats.window.total = windowTotal.summary();
        stats.windowTotalBuckets = windowTotal.buckets();
        stats.sinceStartTotalBuckets = m_total.buckets();
        stats.sinceStartQueueWaitBuckets = m_queueWait.buckets();
        stats.sinceStartTotalSumUs = m_totalSumUs;
        stats.sinceStartQueueWaitSumUs = m_queueWaitSumUs;
        stats.outcomes = m_outcomes;
        stats.window.queueWait = m_queueWaitWindow.summary(now);
        stats.window.serviceTime = m_serviceTimeWindow.summary(now);
        stats.sinceStart.total = m_total.summary();
        stats.sinceStart.queueWait = m_queueWait.summary();
        stats.sinceStart.serviceTime = m_serviceTime.summary();
        return stats;
    }

private:
    static std::uint64_t microseconds(Clock::duration duration) noexcept
    {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
        return us > 0 ? static_cast<std::uint64_t>(us) : 0;
    }

    void count(bool error, Clock::time_point now) noexcept
    {
        m_callRate.add(now);
        if (error) {
            m_errorRate.add(now);
        }
    }

    std::string m_service;
    std::string m_name;
    Clock::time_point m_createdAt;
    RequestOutcomes m_outcomes;
    std::uint64_t m_totalSumUs = 0;
    std::uint64_t m_queueWaitSumUs = 0;
    RateWindow m_callRate;
    RateWindow m_errorRate;
    LatencyHistogram m_total;
    LatencyHistogram m_queueWait;
    LatencyHistogram m_serviceTime;
    LatencyWindow m_totalWindow;
    LatencyWindow m_queueWaitWindow;
    LatencyWindow m_serviceTimeWindow;
};

} // namespace switchboard
