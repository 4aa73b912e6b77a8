#include <switchboard/metrics/brokermetrics.h>

#include "processmetrics.h"
#include <switchboard/monitoring/latencyhistogram.h>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace switchboard::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// BrokerStatistics::kCatchAll: the service (and method) that requests beyond the statistics'
// bounds are counted under. Not included from there: this library reads snapshots, whichever
// broker built them.
constexpr std::string_view kOther = "(other)";

// As many service label values as the statistics keep service meters (kMaxServices, plus the
// catch-all). The broker's snapshot already folds services beyond that bound into the catch-all;
// this cap also holds for a broker without statistics (BrokerConfig::statistics off).
constexpr std::size_t kMaxServiceLabels = 1024;

// The histograms' fixed `le` bounds, in microseconds (the unit of the broker's histograms).
constexpr std::array<std::uint64_t, 18> kBoundsUs{
    100,     250,     500,     1'000,     2'500,     5'000,     10'000,     25'000,     50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000};

// Divided by, not multiplied with 1e-6: 100 / 1e6 is the double closest to .0001 and prints as
// such, 100 * 1e-6 prints as 9.999999999999999e-05.
constexpr double kMicrosPerSecond = 1e6;

std::string utf8(const QString& text)
{
    return text.toStdString();
}

MetricFamily family(std::string name, std::string help, MetricType type)
{
    return MetricFamily{std::move(name), std::move(help), type, {}};
}

ClientMetric& add(MetricFamily& family, std::vector<ClientMetric::Label> labels)
{
    ClientMetric& metric = family.metric.emplace_back();
    metric.label = std::move(labels);
    return metric;
}

void addCounter(MetricFamily& family, std::vector<ClientMetric::Label> labels, double value)
{
    add(family, std::move(labels)).counter.value = value;
}

void addGauge(MetricFamily& family, std::vector<ClientMetric::Label> labels, double value)
{
    add(family, std::move(labels)).gauge.value = value;
}

MetricFamily single(std::string name, std::string help, MetricType type, double value)
{
    MetricFamily result = family(std::move(name), std::move(help), type);
    if (type == MetricType::Counter) {
        addCounter(result, {}, value);
    } else {
        addGauge(result, {}, value);
    }
    return result;
}

// A broker histogram rebucketed onto kBoundsUs. An internal bucket holds values below
// lowestOf + widthOf (its exclusive upper bound; values are whole microseconds, truncated), so
// it is counted in the first `le` at or above that bound: a cumulative count is never higher
// than the true number of values at or below its `le`, and at most one internal bucket's width
// (1/16 of its values) too low. Buckets above the last bound count in +Inf only.
struct Rebucketed {
    std::array<std::uint64_t, kBoundsUs.size()> counts{}; // per bound, not cumulative
    std::uint64_t count = 0;
    std::uint64_t sumUs = 0;

    void add(const LatencyBuckets& buckets, std::uint64_t sum)
    {
        for (const LatencyBucket& bucket : buckets) {
            const auto index = static_cast<std::size_t>(bucket.index);
            if (index >= LatencyHistogram::kBuckets) {
                continue; // not this layout: a corrupt snapshot, not trusted
            }
            const std::uint64_t upper =
                LatencyHistogram::lowestOf(index) + LatencyHistogram::widthOf(index);
            for (std::size_t i = 0; i < kBoundsUs.size(); ++i) {
                if (kBoundsUs[i] >= upper) {
                    counts[i] += bucket.count;
                    break;
                }
            }
            count += bucket.count;
        }
        sumUs += sum;
    }

    ClientMetric::Histogram histogram() const
    {
        ClientMetric::Histogram result;
        result.sample_count = count;
        result.sample_sum = double(sumUs) / kMicrosPerSecond;
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kBoundsUs.size(); ++i) {
            cumulative += counts[i];
            result.bucket.push_back({cumulative, double(kBoundsUs[i]) / kMicrosPerSecond});
        }
        // +Inf is written by the serializer, as sample_count.
        return result;
    }
};

struct MethodSeries {
    RequestOutcomes outcomes;
    Rebucketed duration;
    Rebucketed queueWait;
};

struct ServiceSeries {
    std::uint64_t queued = 0;
    std::uint64_t queuedBytes = 0;
    std::uint64_t expired = 0;
    std::uint64_t idle = 0;
    std::uint64_t busy = 0;
    std::uint64_t late = 0;
    std::uint64_t inFlight = 0;
    std::uint64_t capacity = 0;
};

// Service label values, bounded: the snapshot's services up to kMaxServiceLabels (those with
// workers first), every other name as kOther.
class ServiceLabels {
public:
    explicit ServiceLabels(const BrokerSnapshot& snapshot)
    {
        for (const bool withWorkers : {true, false}) {
            for (const ServiceStats& service : snapshot.services) {
                if ((service.idleWorkers + service.busyWorkers > 0) == withWorkers &&
                    m_names.size() < kMaxServiceLabels) {
                    m_names.try_emplace(utf8(service.name), ServiceSeries{});
                }
            }
        }
    }

    // The series of `name`, or of kOther when it has no label of its own.
    std::pair<const std::string, ServiceSeries>& operator[](const QString& name)
    {
        auto it = m_names.find(utf8(name));
        if (it == m_names.end()) {
            it = m_names.try_emplace(std::string(kOther)).first;
        }
        return *it;
    }
    const std::string& label(const QString& name) { return (*this)[name].first; }

    const std::map<std::string, ServiceSeries>& all() const noexcept { return m_names; }

private:
    std::map<std::string, ServiceSeries> m_names;
};

void appendRequests(std::vector<MetricFamily>& families, const BrokerSnapshot& snapshot,
                    const BrokerCounters& counters, ServiceLabels& services)
{
    std::map<std::pair<std::string, std::string>, MethodSeries> methods;
    for (const MethodStats& method : snapshot.methods) {
        MethodSeries& series = methods[{services.label(method.service), utf8(method.method)}];
        const RequestOutcomes& outcomes = method.outcomes;
        series.outcomes.ok += outcomes.ok;
        series.outcomes.error += outcomes.error;
        series.outcomes.expired += outcomes.expired;
        series.outcomes.unavailable += outcomes.unavailable;
        series.outcomes.queueFull += outcomes.queueFull;
        series.outcomes.workerLost += outcomes.workerLost;
        series.outcomes.shutdown += outcomes.shutdown;
        series.duration.add(method.sinceStartTotalBuckets, method.sinceStartTotalSumUs);
        series.queueWait.add(method.sinceStartQueueWaitBuckets, method.sinceStartQueueWaitSumUs);
    }

    MetricFamily requests = family(
        "switchboard_requests_total",
        "Requests answered, by how they ended: ok (the worker's reply), error (the worker's error "
        "reply, or StreamingUnsupported), expired (Expired: the service's workers stayed busy), "
        "unavailable (ServiceUnavailable: no worker for the service), queue_full (QueueFull), "
        "worker_lost (WorkerLost), shutdown (BrokerShutdown). Each answered request counts once. "
        "Method names beyond the statistics' bounds count under method \"(other)\", services "
        "beyond them under service \"(other)\"; QueueFull for a client holding too many unread "
        "answers is refused before its service is looked at and counts under service=\"\", "
        "method=\"\".",
        MetricType::Counter);
    MetricFamily duration = family(
        "switchboard_request_duration_seconds",
        "Time from a request's arrival at the broker to its worker's final answer, for requests a "
        "worker answered (not for the broker's own errors). Bucket bounds are rounded up from the "
        "broker's internal buckets (at most 1/16 of a value): a bucket never counts more than "
        "the values at or below its le.",
        MetricType::Histogram);
    MetricFamily queueWait = family(
        "switchboard_queue_wait_seconds",
        "Time from a request's arrival at the broker to its dispatch to the worker that answered "
        "it, for requests a worker answered. Bucket bounds as for "
        "switchboard_request_duration_seconds.",
        MetricType::Histogram);
    for (const auto& [key, series] : methods) {
        const auto& [service, method] = key;
        const std::pair<const char*, std::uint64_t> outcomes[] = {
            {"ok", series.outcomes.ok},
            {"error", series.outcomes.error},
            {"expired", series.outcomes.expired},
            {"unavailable", series.outcomes.unavailable},
            {"queue_full", series.outcomes.queueFull},
            {"worker_lost", series.outcomes.workerLost},
            {"shutdown", series.outcomes.shutdown},
        };
        for (const auto& [outcome, value] : outcomes) {
            addCounter(requests, {{"service", service}, {"method", method}, {"outcome", outcome}},
                       double(value));
        }
        add(duration, {{"service", service}, {"method", method}}).histogram =
            series.duration.histogram();
        add(queueWait, {{"service", service}, {"method", method}}).histogram =
            series.queueWait.histogram();
    }
    addCounter(requests, {{"service", ""}, {"method", ""}, {"outcome", "queue_full"}},
               double(counters.refusedUnread));
    families.push_back(std::move(requests));
    families.push_back(std::move(duration));
    families.push_back(std::move(queueWait));
}

void appendServices(std::vector<MetricFamily>& families, const BrokerSnapshot& snapshot,
                    ServiceLabels& services)
{
    for (const ServiceStats& row : snapshot.services) {
        ServiceSeries& series = services[row.name].second;
        series.queued += row.queueDepth;
        series.queuedBytes += row.queuedBytes;
        series.expired += row.expired;
    }
    for (const WorkerStats& worker : snapshot.workers) {
        if (worker.state == WorkerStats::State::Expired) {
            continue; // gone: kept in snapshots for the monitor only
        }
        ServiceSeries& series = services[worker.service].second;
        switch (worker.state) {
        case WorkerStats::State::Idle:
            ++series.idle;
            break;
        case WorkerStats::State::Busy:
            ++series.busy;
            break;
        case WorkerStats::State::Late:
        case WorkerStats::State::Expired:
            ++series.late;
            break;
        }
        series.inFlight += static_cast<std::uint64_t>(std::max(worker.inFlight, 0));
        series.capacity += static_cast<std::uint64_t>(std::max(worker.capacity, 0));
    }

    MetricFamily queued =
        family("switchboard_queued_requests",
               "Requests waiting in the service's queue for a worker.", MetricType::Gauge);
    MetricFamily queuedBytes =
        family("switchboard_queued_bytes", "Bytes of the requests waiting in the service's queue.",
               MetricType::Gauge);
    MetricFamily workers = family(
        "switchboard_workers",
        "Registered workers of the service by state: idle (may take a request), busy (holds as "
        "many requests as it may, or declined one), late (missed a heartbeat; its liveness is "
        "running out).",
        MetricType::Gauge);
    MetricFamily inFlight = family(
        "switchboard_in_flight_requests",
        "Requests dispatched to the service's workers, not answered yet.", MetricType::Gauge);
    MetricFamily capacity = family(
        "switchboard_worker_capacity",
        "How many requests the service's workers may hold at once: the sum of their credits (1 "
        "for a plain MDP worker).",
        MetricType::Gauge);
    MetricFamily expired = family(
        "switchboard_expired_total",
        "Requests of the service that waited in its queue until their deadline: answered Expired, "
        "or ServiceUnavailable when the service had no worker.",
        MetricType::Counter);
    for (const auto& [name, series] : services.all()) {
        addGauge(queued, {{"service", name}}, double(series.queued));
        addGauge(queuedBytes, {{"service", name}}, double(series.queuedBytes));
        for (const auto& [state, value] :
             {std::pair{"idle", series.idle}, std::pair{"busy", series.busy},
              std::pair{"late", series.late}}) {
            addGauge(workers, {{"service", name}, {"state", state}}, double(value));
        }
        addGauge(inFlight, {{"service", name}}, double(series.inFlight));
        addGauge(capacity, {{"service", name}}, double(series.capacity));
        addCounter(expired, {{"service", name}}, double(series.expired));
    }
    families.push_back(std::move(queued));
    families.push_back(std::move(queuedBytes));
    families.push_back(std::move(workers));
    families.push_back(std::move(inFlight));
    families.push_back(std::move(capacity));
    families.push_back(std::move(expired));
}

void appendCounters(std::vector<MetricFamily>& families, const BrokerCounters& counters)
{
    families.push_back(single("switchboard_redispatched_total",
                              "Idempotent requests whose worker died, queued again for another "
                              "worker.",
                              MetricType::Counter, double(counters.requeued)));
    families.push_back(single("switchboard_late_replies_total",
                              "Answers from workers the broker had given up on, dropped.",
                              MetricType::Counter, double(counters.lateReplies)));
    families.push_back(single("switchboard_declined_total",
                              "Requests handed back unstarted by full workers with credit "
                              "(DECLINE), queued again.",
                              MetricType::Counter, double(counters.workerDeclines)));
    families.push_back(single("switchboard_mmi_requests_total",
                              "Service discovery requests (mmi.*) the broker answered itself; "
                              "not in switchboard_requests_total.",
                              MetricType::Counter, double(counters.mmiRequests)));
    families.push_back(single("switchboard_requests_discarded_total",
                              "Requests dropped unanswered: their client sends without reading, "
                              "and the refusals held for it fill its bound.",
                              MetricType::Counter, double(counters.requestsDiscarded)));

    MetricFamily malformed = family(
        "switchboard_malformed_messages_total",
        "Messages refused as malformed, by sender (client, worker, admin) and what was wrong. "
        "The admin endpoint counts all its refusals (malformed, unknown command, too large) "
        "under kind=\"invalid_request\".",
        MetricType::Counter);
    for (std::size_t i = 0; i < counters.malformedByKind.size(); ++i) {
        const std::string kind(toString(static_cast<ProtocolErrorKind>(i)));
        const std::uint64_t fromWorkers = counters.malformedFromWorkersByKind[i];
        addCounter(malformed, {{"peer", "client"}, {"kind", kind}},
                   double(counters.malformedByKind[i] - fromWorkers));
        addCounter(malformed, {{"peer", "worker"}, {"kind", kind}}, double(fromWorkers));
    }
    addCounter(malformed, {{"peer", "admin"}, {"kind", "invalid_request"}},
               double(counters.adminMalformed));
    families.push_back(std::move(malformed));

    families.push_back(single("switchboard_worker_connections_opened_total",
                              "Workers registered (READY accepted).", MetricType::Counter,
                              double(counters.workersRegistered)));
    MetricFamily closed =
        family("switchboard_worker_connections_closed_total",
               "Registered workers that went away: left (said DISCONNECT), expired (purged: silent "
               "beyond their liveness, or their connection closed), evicted (by an operator), "
               "disconnected (by the broker, for a protocol violation).",
               MetricType::Counter);
    for (const auto& [reason, value] :
         {std::pair{"left", counters.workersLeft}, std::pair{"expired", counters.workersPurged},
          std::pair{"evicted", counters.workersEvicted},
          std::pair{"disconnected", counters.workersDisconnected}}) {
        addCounter(closed, {{"reason", reason}}, double(value));
    }
    families.push_back(std::move(closed));

    MetricFamily curve = family(
        "switchboard_curve_handshakes_refused_total",
        "CURVE connections refused: reason=\"refused\" for a key that is not authorized (or no "
        "CURVE credentials), reason=\"handshake_failed\" for a connection closed before its "
        "handshake was done (no CURVE, the wrong server key, or a peer that gave up).",
        MetricType::Counter);
    addCounter(curve, {{"reason", "refused"}}, double(counters.curveRefused));
    addCounter(curve, {{"reason", "handshake_failed"}}, double(counters.curveHandshakesFailed));
    families.push_back(std::move(curve));

    families.push_back(single("switchboard_held_replies",
                              "Answers held for clients that do not read, until they do.",
                              MetricType::Gauge, double(counters.heldReplies)));
    families.push_back(single("switchboard_held_reply_bytes",
                              "Bytes of the answers held for clients that do not read.",
                              MetricType::Gauge, double(counters.heldReplyBytes)));
    families.push_back(single(
        "switchboard_replies_dropped_total", "Answers dropped for good: their client was gone.",
        MetricType::Counter, double(counters.clientUnreachable + counters.heldRepliesReleased)));
}

} // namespace

std::string exposition(const BrokerSnapshot& snapshot, const BrokerCounters& counters)
{
    std::vector<MetricFamily> families;
    MetricFamily buildInfo =
        family("switchboard_build_info", "The broker's version; always 1.", MetricType::Gauge);
    addGauge(buildInfo, {{"version", utf8(snapshot.version)}}, 1);
    families.push_back(std::move(buildInfo));
    families.push_back(single("switchboard_uptime_seconds",
                              "Seconds since the broker started, when it last took a snapshot.",
                              MetricType::Gauge, double(snapshot.uptimeMs) / 1000.0));

    ServiceLabels services(snapshot);
    appendRequests(families, snapshot, counters, services);
    appendServices(families, snapshot, services);
    appendCounters(families, counters);
    ProcessMetrics::readSelf().appendTo(families);
    return prometheus::TextSerializer().Serialize(families);
}

} // namespace switchboard::metrics
