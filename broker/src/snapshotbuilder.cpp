#include "snapshotbuilder.h"

#include "brokerreporter.h"
#include <switchboard/monitoring/peername.h>

#include <switchboard/routing/routingcore.h>

#include <QDateTime>

#include <algorithm>
#include <tuple>

namespace switchboard {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::int64_t millisecondsOf(Clock::duration duration) noexcept
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
}

QString protocolName(mdp::Version version)
{
    return version == mdp::Version::V01 ? QStringLiteral("MDPW01") : QStringLiteral("MDPW02");
}

WorkerStats workerRow(const RegisteredWorker& worker, const RoutingConfig& config,
                      Clock::time_point now)
{
    WorkerStats row;
    row.identity =
        QByteArray(worker.identity().data(), static_cast<qsizetype>(worker.identity().size()));
    row.name = peerName(worker.identity());
    row.peerAddress = fromUtf8(worker.peerAddress());
    row.service = fromUtf8(worker.service().name());
    row.protocol = protocolName(worker.version());
    const auto silent = now - worker.lastHeard();
    const auto heartbeat = std::max<Clock::duration>(config.heartbeatInterval, 1ms);
    // Half an interval of slack: a worker heartbeating at the broker's own interval is late by
    // a little jitter every now and then without missing anything.
    const bool late = silent > heartbeat * 3 / 2;
    const bool busy = !worker.inFlight().empty();
    // A worker that declined a request (docs/PROTOCOL.md §11.2) is full, with the requests of
    // other brokers: busy, as its service's row counts it, though it holds nothing here.
    row.state = late                      ? WorkerStats::State::Late
                : busy || worker.closed() ? WorkerStats::State::Busy
                                          : WorkerStats::State::Idle;
    if (busy) {
        const auto& held = worker.inFlight();
        const InFlightRequest& oldest =
            *std::min_element(held.begin(), held.end(), [](const auto& a, const auto& b) {
                return a.dispatchedAt < b.dispatchedAt;
            });
        row.currentMethod = fromUtf8(oldest.method.view());
        row.busyForMs = millisecondsOf(now - oldest.dispatchedAt);
    }
    row.inFlight = static_cast<int>(worker.inFlight().size());
    row.capacity = worker.capacity();
    row.served = worker.served();
    row.errors = worker.errors();
    row.lastSeenAgeMs = millisecondsOf(silent);
    row.livenessLeft = std::max(0, config.liveness - static_cast<int>(silent / heartbeat));
    row.connectedForMs = millisecondsOf(now - worker.registeredAt());
    return row;
}

WorkerStats expiredRow(const ExpiredWorker& expired, Clock::time_point now)
{
    WorkerStats row;
    row.identity =
        QByteArray(expired.identity.data(), static_cast<qsizetype>(expired.identity.size()));
    row.name = peerName(expired.identity);
    row.peerAddress = fromUtf8(expired.peerAddress);
    row.service = fromUtf8(expired.service);
    row.protocol = protocolName(expired.version);
    row.state = WorkerStats::State::Expired;
    row.capacity = expired.capacity;
    row.served = expired.served;
    row.errors = expired.errors;
    row.lastSeenAgeMs = millisecondsOf(now - expired.lastHeard);
    row.livenessLeft = 0;
    row.connectedForMs = millisecondsOf(expired.expiredAt - expired.registeredAt);
    return row;
}

void fillTotals(BrokerTotals& totals, const BrokerCounters& counts)
{
    totals.requests = counts.requestsReceived;
    totals.replies = counts.repliesDelivered + counts.brokerErrors + counts.mmiRequests;
    totals.errors = counts.brokerErrors + counts.workerErrors;
    totals.expired = counts.expired;
    totals.queueFull = counts.queueFull;
    totals.workerLost = counts.workerLost;
    totals.requeued = counts.requeued;
    totals.lateReplies = counts.lateReplies;
    totals.heldReplies = counts.heldReplies;
    totals.heldReplyBytes = counts.heldReplyBytes;
    totals.slowClients = counts.slowClients;
    totals.clientsAtBound = counts.clientsAtBound;
    totals.repliesHeld = counts.repliesHeld;
    totals.repliesDropped = counts.clientUnreachable + counts.heldRepliesReleased;
    totals.refusedUnread = counts.refusedUnread;
    totals.requestsDiscarded = counts.requestsDiscarded;
    totals.declined = counts.workerDeclines;
    totals.malformed = counts.malformedTotal();
    totals.workersRegistered = counts.workersRegistered;
    totals.workersPurged = counts.workersPurged;
    totals.workersEvicted = counts.workersEvicted;
    totals.adminRequests = counts.adminRequests;
    totals.adminMalformed = counts.adminMalformed;
}

void fillIntake(MessageIntake& intake, const BrokerCounters& counts)
{
    intake.clientMessages = counts.clientMessages;
    intake.clientRequests = counts.requestsReceived;
    intake.clientMalformed = counts.malformedFromClients;
    intake.workerMessages = counts.workerMessages;
    intake.workerMalformed = counts.malformedFromWorkers;
    intake.workerReady = counts.workersRegistered;
    intake.workerHeartbeats = counts.workerHeartbeats;
    intake.workerAnswers = counts.workerAnswers;
    intake.workerDeclines = counts.workerDeclines;
    intake.workerLeft = counts.workersLeft;
    intake.workerRefused = counts.workerMessagesRefused;
    intake.workerIgnored = counts.workerMessagesIgnored;
}

} // namespace

BrokerSnapshot buildSnapshot(const SnapshotHeader& header, const RoutingCore& core,
                             const BrokerCounters& counters, const BrokerReporter& reporter,
                             Clock::time_point now)
{
    const RoutingConfig& config = core.config();
    BrokerSnapshot snapshot;
    snapshot.sequence = header.sequence;
    snapshot.timeMs = QDateTime::currentMSecsSinceEpoch();
    snapshot.uptimeMs = millisecondsOf(now - header.startedAt);
    snapshot.version = QStringLiteral(SWITCHBOARD_VERSION);
    snapshot.frontendEndpoints = header.frontendEndpoints;
    snapshot.backendEndpoints = header.backendEndpoints;
    snapshot.adminEndpoints = header.adminEndpoints;
    snapshot.heartbeatIntervalMs = config.heartbeatInterval.count();
    snapshot.liveness = config.liveness;
    fillTotals(snapshot.totals, counters);
    const BrokerStatistics& statistics = reporter.statistics();
    snapshot.totals.requestsPerSecond =
        reporter.hasStatistics() ? statistics.requestsPerSecond(now) : 0;
    fillIntake(snapshot.intake, counters);

    // Services beyond BrokerStatistics::kMaxServices report to the catch-all meter; their queues
    // and workers are shown in its row too, so that a flood of made-up names grows neither the
    // snapshot nor the series of a Prometheus scrape (metrics/) beyond the statistics' bound.
    ServiceStats overflow;
    bool overflowed = false;
    core.services().forEach([&](const Service& service) {
        const auto* meter = static_cast<const ServiceMeter*>(service.meter());
        const bool own = !meter || meter->name() == service.name();
        ServiceStats& row = own ? snapshot.services.emplace_back() : overflow;
        overflowed = overflowed || !own;
        row.name = fromUtf8(own ? service.name() : meter->name());
        row.queueDepth += service.queued();
        row.queuedBytes += service.queuedBytes();
        row.idleWorkers += service.idleWorkers().size();
        row.busyWorkers += service.workerCount() - service.idleWorkers().size();
        if (meter && own) {
            meter->fill(row, now);
        }
    });
    statistics.forEachService([&](const ServiceMeter& meter) {
        if (!core.services().find(meter.name())) {
            ServiceStats row; // gone, but its statistics are still kept
            row.name = fromUtf8(meter.name());
            meter.fill(row, now);
            snapshot.services.push_back(std::move(row));
        }
        for (const auto& [name, method] : meter.methods()) {
            snapshot.methods.push_back(method.stats(now));
        }
    });
    if (overflowed) {
        auto catchAll =
            std::find_if(snapshot.services.begin(), snapshot.services.end(),
                         [&](const ServiceStats& row) { return row.name == overflow.name; });
        if (catchAll == snapshot.services.end()) {
            snapshot.services.push_back(overflow); // not reached: the catch-all meter is kept
        } else {
            catchAll->queueDepth += overflow.queueDepth;
            catchAll->queuedBytes += overflow.queuedBytes;
            catchAll->idleWorkers += overflow.idleWorkers;
            catchAll->busyWorkers += overflow.busyWorkers;
        }
    }

    core.workers().forEach([&](const RegisteredWorker& worker) {
        snapshot.workers.push_back(workerRow(worker, config, now));
    });
    for (const ExpiredWorker& expired : core.workers().expired()) {
        if (now - expired.expiredAt < WorkerRegistry::kExpiredRetention) {
            snapshot.workers.push_back(expiredRow(expired, now));
        }
    }

    std::sort(snapshot.services.begin(), snapshot.services.end(),
              [](const ServiceStats& a, const ServiceStats& b) { return a.name < b.name; });
    std::sort(snapshot.methods.begin(), snapshot.methods.end(),
              [](const MethodStats& a, const MethodStats& b) {
                  return std::tie(a.service, a.method) < std::tie(b.service, b.method);
              });
    std::sort(snapshot.workers.begin(), snapshot.workers.end(),
              [](const WorkerStats& a, const WorkerStats& b) {
                  return std::tie(a.service, a.name) < std::tie(b.service, b.name);
              });
    snapshot.events = reporter.events().newest();
    return snapshot;
}

} // namespace switchboard
