#include "synthetictraffic.h"

#include <switchboard/monitoring/latencyhistogram.h>

#include <QDateTime>

#include <algorithm>

#include <cmath>

namespace switchboard::test {

namespace {

struct MethodProfile {
    const char* service;
    const char* method;
    double rate;       // calls/s on average
    double p50Ms;      // latency scale
    double errorShare; // of calls
};

constexpr MethodProfile kMethods[] = {
    {"billing", "charge", 42, 4.1, 0.01},      {"billing", "refund", 3, 2.7, 0.0},
    {"billing", "invoice_pdf", 1.5, 95, 0.02}, {"catalog", "get_item", 380, 0.31, 0.0},
    {"catalog", "list", 55, 1.2, 0.0},         {"geo", "lookup", 24, 1.9, 0.0},
    {"search", "query", 120, 18, 0.004},       {"search", "suggest", 260, 0.9, 0.0},
    {"thumbnails", "render", 2.2, 700, 0.05},  {"thumbnails", "status", 15, 0.12, 0.0},
};

double wave(int tick, double period, double phase)
{
    return 1.0 + 0.35 * std::sin(2 * M_PI * (tick + phase) / period);
}

LatencySummary latency(double p50Ms, double load, std::uint64_t count)
{
    if (count == 0) {
        return {};
    }
    const auto us = [](double ms) { return static_cast<std::uint64_t>(ms * 1000); };
    return {count, us(p50Ms * load), us(p50Ms * load * 2.4), us(p50Ms * load * 4.5),
            us(p50Ms * load * 7.0)};
}

const char* const kRegions[] = {"", "eu", "us", "ap"};

// Buckets that a histogram with these percentiles could have: quantile bands filled evenly with
// up to 1000 values, scaled to the summary's count.
LatencyBuckets bucketsFor(const LatencySummary& summary)
{
    if (summary.count == 0) {
        return {};
    }
    const std::uint64_t samples = std::min<std::uint64_t>(summary.count, 1000);
    const auto p50 = static_cast<double>(summary.p50Us);
    const auto p95 = static_cast<double>(summary.p95Us);
    const auto p99 = static_cast<double>(summary.p99Us);
    const auto max = static_cast<double>(summary.maxUs);
    LatencyHistogram histogram;
    for (std::uint64_t i = 0; i < samples; ++i) {
        const double q = (static_cast<double>(i) + 0.5) / static_cast<double>(samples);
        const double us = q < 0.5    ? p50 * (0.6 + 0.8 * q)
                          : q < 0.95 ? p50 + (p95 - p50) * (q - 0.5) / 0.45
                          : q < 0.99 ? p95 + (p99 - p95) * (q - 0.95) / 0.04
                                     : p99 + (max - p99) * (q - 0.99) / 0.01;
        histogram.record(static_cast<std::uint64_t>(us));
    }
    LatencyBuckets buckets = histogram.buckets();
    for (LatencyBucket& bucket : buckets) {
        bucket.count = std::max<std::uint64_t>(1, bucket.count * summary.count / samples);
    }
    return buckets;
}

// The summary becomes the one of its made-up histogram, as a broker would report it.
void addHistograms(MethodStats& method)
{
    const auto rebuild = [](LatencySummary& summary, LatencyBuckets& buckets) {
        buckets = bucketsFor(summary);
        LatencyHistogram histogram;
        histogram.merge(buckets, summary.maxUs);
        summary = histogram.summary();
    };
    rebuild(method.window.total, method.windowTotalBuckets);
    rebuild(method.sinceStart.total, method.sinceStartTotalBuckets);
}

} // namespace

QString SyntheticTraffic::adminEndpoint() const
{
    return m_broker == 0 ? QStringLiteral("tcp://127.0.0.1:5557")
                         : QStringLiteral("tcp://10.1.%1.5:5557").arg(m_broker);
}

std::int64_t SyntheticTraffic::startMs() const
{
    return QDateTime(QDate(2026, 12, 1), QTime(14, 0, 0)).toMSecsSinceEpoch();
}

BrokerSnapshot SyntheticTraffic::snapshot(int tick) const
{
    BrokerSnapshot s;
    s.sequence = static_cast<std::uint64_t>(tick) + 1;
    s.timeMs = startMs() + tick * kIntervalMs;
    s.uptimeMs =
        3 * 3600 * 1000 + 17 * 60 * 1000 + tick * kIntervalMs - m_broker * 2 * 3600 * 1000 / 3;
    s.version = QStringLiteral("0.1.0");
    s.frontendEndpoints = {QStringLiteral("tcp://*:5555")};
    s.backendEndpoints = {QStringLiteral("tcp://*:5556")};
    s.adminEndpoints = {adminEndpoint()};
    s.heartbeatIntervalMs = 2500;
    s.liveness = 3;

    const bool geoExpired = tick >= 40 && m_broker <= 1;
    // A sibling broker's load, and how slow its machine is, relative to broker 0.
    const double share = m_broker == 0 ? 1.0 : 0.4 + 0.35 * m_broker;
    const double slowness = m_broker == 0 ? 1.0 : 0.7 + 0.45 * (m_broker % 3);
    const bool searchLate = tick >= 30;

    // Methods: rates breathe with different periods; thumbnails slows down over time.
    double totalRate = 0;
    for (int i = 0; i < static_cast<int>(std::size(kMethods)); ++i) {
        const MethodProfile& p = kMethods[i];
        MethodStats m;
        m.service = QString::fromLatin1(p.service);
        m.method = QString::fromLatin1(p.method);
        double rate = share * p.rate * wave(tick, 23 + 7 * i, 3.0 * i + m_broker);
        double load = slowness * wave(tick, 31 + 5 * i, 11.0 * i + 5.0 * m_broker);
        if (m.service == QLatin1String("geo") && geoExpired) {
            rate = 0;
        }
        if (m.service == QLatin1String("thumbnails")) {
            load *= 1.0 + tick / 40.0;
        }
        const auto windowCount = static_cast<std::uint64_t>(rate * 10);
        m.calls = static_cast<std::uint64_t>(p.rate * (5000 + tick));
        m.errors = static_cast<std::uint64_t>(static_cast<double>(m.calls) * p.errorShare);
        m.callsPerSecond = rate;
        m.errorsPerSecond = rate * p.errorShare;
        m.window.total = latency(p.p50Ms, load, windowCount);
        m.window.queueWait = latency(p.p50Ms * 0.1, load, windowCount);
        m.window.serviceTime = latency(p.p50Ms * 0.9, load, windowCount);
        m.sinceStart.total = latency(p.p50Ms, 1.0, m.calls);
        totalRate += rate;
        if (m_broker > 0) {
            addHistograms(m);
        }
        s.methods.push_back(m);
    }

    const auto worker = [&](const char* name, const char* service, WorkerStats::State state,
                            const char* method, std::int64_t busyMs, std::uint64_t served,
                            std::int64_t lastSeenMs, int livenessLeft, int port, int protocol) {
        WorkerStats w;
        w.name = QString::fromLatin1(name);
        if (m_broker > 0) {
            // "billing-us-7f3a", "geo-us-1": each region's own workers.
            const QLatin1String region(kRegions[m_broker % 4]);
            w.name = w.name.contains(QLatin1String("-eu-"))
                         ? w.name.replace(QLatin1String("-eu-"), QStringLiteral("-%1-").arg(region))
                         : w.name.section(QLatin1Char('-'), 0, 0) + QLatin1Char('-') + region +
                               QLatin1Char('-') + w.name.section(QLatin1Char('-'), 1);
        }
        w.identity = w.name.toLatin1();
        w.service = QString::fromLatin1(service);
        w.state = state;
        w.currentMethod = QString::fromLatin1(method);
        w.busyForMs = busyMs;
        w.served = served;
        w.errors = served / 97;
        w.lastSeenAgeMs = lastSeenMs;
        w.livenessLeft = livenessLeft;
        w.peerAddress = QStringLiteral("10.1.4.%1:%2").arg(20 + port % 7).arg(40000 + port);
        w.protocol = protocol == 1 ? QStringLiteral("MDPW01") : QStringLiteral("MDPW02");
        w.connectedForMs = s.uptimeMs - 60'000 * port % 3'600'000;
        s.workers.push_back(w);
    };
    using State = WorkerStats::State;
    const auto served = [&](double perSecond) {
        return static_cast<std::uint64_t>(perSecond * (9000 + tick));
    };
    const int beat = static_cast<int>((tick * 370) % 2500);
    worker("billing-7f3a", "billing", tick % 3 ? State::Busy : State::Idle,
           tick % 3 ? "charge" : "", 40 + tick % 9 * 3, served(21), beat, 3, 1, 2);
    worker("billing-c012", "billing", State::Busy, "invoice_pdf", 120 + tick % 5 * 40, served(23),
           (beat + 900) % 2500, 3, 2, 2);
    worker("catalog-01", "catalog", State::Idle, "", 0, served(210), (beat + 300) % 2500, 3, 3, 1);
    worker("catalog-02", "catalog", State::Busy, "list", 2, served(225), (beat + 1200) % 2500, 3, 4,
           1);
    worker("geo-eu-1", "geo",
           geoExpired   ? State::Expired
           : tick >= 34 ? State::Late
                        : State::Idle,
           "", 0, served(24),
           geoExpired   ? 7500 + (tick - 40) * 1000
           : tick >= 34 ? 2600
                        : beat,
           geoExpired   ? 0
           : tick >= 34 ? 1
                        : 3,
           5, 2);
    worker("search-a", "search", State::Busy, "query", 31, served(190), (beat + 600) % 2500, 3, 6,
           2);
    worker("search-b", "search", searchLate ? State::Late : State::Busy, "suggest",
           searchLate ? 2900 + (tick - 30) * 100 : 1, served(190),
           searchLate ? 2700 + (tick - 30) * 150 % 2000 : beat, searchLate ? 2 : 3, 7, 2);
    worker("thumbs-gpu0", "thumbnails", State::Busy, "render", 300 + tick * 45 % 2400, served(17),
           (beat + 1800) % 2500, 3, 8, 2);

    const auto service = [&](const char* name, std::uint64_t queue, double rps, double eps,
                             std::uint64_t expired) {
        ServiceStats sv;
        sv.name = QString::fromLatin1(name);
        sv.queueDepth = queue;
        for (const WorkerStats& w : s.workers) {
            if (w.service == sv.name && w.state == State::Idle) {
                ++sv.idleWorkers;
            } else if (w.service == sv.name && w.state != State::Expired) {
                ++sv.busyWorkers;
            }
        }
        sv.requestsPerSecond = rps;
        sv.errorsPerSecond = eps;
        sv.requests = static_cast<std::uint64_t>(rps * (9000 + tick));
        sv.errors = static_cast<std::uint64_t>(eps * (9000 + tick));
        sv.expired = expired;
        s.services.push_back(sv);
    };
    const auto methodRate = [&](const char* name) {
        double sum = 0;
        for (const MethodStats& m : s.methods) {
            sum += m.service == QLatin1String(name) ? m.callsPerSecond : 0;
        }
        return sum;
    };
    const auto thumbsQueue =
        static_cast<std::uint64_t>(std::max(0.0, 2 + tick / 6.0 + 3 * std::sin(tick / 5.0)));
    service("billing", tick % 7 == 0 ? 1 : 0, methodRate("billing"), 0.45, 0);
    service("catalog", 0, methodRate("catalog"), 0, 0);
    service("geo", geoExpired ? static_cast<std::uint64_t>(tick - 39) : 0,
            geoExpired ? 4.0 : methodRate("geo"), geoExpired ? 4.0 : 0,
            geoExpired ? static_cast<std::uint64_t>((tick - 40) * 4) : 0);
    service("search", searchLate ? static_cast<std::uint64_t>(3 + tick % 4) : 0,
            methodRate("search"), 0.6, 0);
    service("thumbnails", thumbsQueue, methodRate("thumbnails"), 0.3, 3 + tick / 15);

    s.totals.requestsPerSecond = totalRate;
    s.totals.requests = static_cast<std::uint64_t>(totalRate * (9000 + tick));
    s.totals.replies = s.totals.requests - 40;
    s.totals.errors = s.totals.requests / 180;
    s.totals.expired = 3 + static_cast<std::uint64_t>(tick / 15);
    s.totals.workersRegistered = 11;
    s.totals.workersPurged = geoExpired ? 3 : 2;
    s.totals.workersEvicted = 1;

    // The event ring: everything that happened up to this tick, newest 50.
    std::uint64_t sequence = 0;
    QVector<BrokerEvent> events;
    const auto event = [&](int at, BrokerEvent::Kind kind, const char* service_,
                           const char* worker_, const QString& text) {
        ++sequence;
        if (at <= tick) {
            events.push_back({sequence, startMs() + at * kIntervalMs - 400, kind,
                              QString::fromLatin1(service_), QString::fromLatin1(worker_), text});
        }
    };
    using Kind = BrokerEvent::Kind;
    for (const WorkerStats& w : std::as_const(s.workers)) {
        event(0, Kind::WorkerJoined, w.service.toLatin1().constData(),
              w.name.toLatin1().constData(),
              QStringLiteral("%1 joined from %2 (%3)").arg(w.name, w.peerAddress, w.protocol));
    }
    event(12, Kind::RequestExpired, "thumbnails", "",
          QStringLiteral("render: expired after 10 s in the queue (all workers busy)"));
    event(25, Kind::ProtocolError, "", "",
          QStringLiteral("malformed client request from 10.1.9.3:51022: missing service frame"));
    event(30, Kind::RequestExpired, "thumbnails", "",
          QStringLiteral("render: expired after 10 s in the queue (all workers busy)"));
    if (m_broker <= 1) { // only where the geo worker expires
        event(40, Kind::WorkerExpired, "geo", "geo-eu-1",
              QStringLiteral("geo-eu-1 silent for 7.5 s (3 heartbeats): purged"));
        for (int at = 45; at < 60; at += 5) {
            event(at, Kind::RequestExpired, "geo", "",
                  QStringLiteral("lookup: ServiceUnavailable, no worker for 10 s"));
        }
    }
    event(57, Kind::WorkerLeft, "billing", "billing-0ff1",
          QStringLiteral("billing-0ff1 said DISCONNECT"));
    if (events.size() > 50) {
        events.remove(0, events.size() - 50);
    }
    s.events = events;
    return s;
}

} // namespace switchboard::test
