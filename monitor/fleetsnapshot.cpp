#include "fleetsnapshot.h"

#include <switchboard/monitoring/latencyhistogram.h>

#include <QHash>
#include <QSet>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

namespace switchboard {

namespace {

bool isUp(const FleetMember& member)
{
    return member.state == BrokerLink::State::Connected && member.reporting && member.last;
}

// The members whose numbers count: those up, or all of them when none is (so that a window whose
// brokers are all down still shows what they last said).
std::vector<int> countedMembers(const QVector<FleetMember>& members)
{
    std::vector<int> up;
    std::vector<int> seen;
    for (int i = 0; i < members.size(); ++i) {
        if (members[i].last) {
            seen.push_back(i);
            if (isUp(members[i])) {
                up.push_back(i);
            }
        }
    }
    return up.empty() ? seen : up;
}

struct Contribution {
    int broker;
    const MethodStats* stats;
};

MethodRow ownRow(const FleetMember& member, const QString& label, int broker,
                 const MethodStats& stats, bool down)
{
    MethodRow row;
    static_cast<MethodStats&>(row) = stats;
    row.brokers = {member.name};
    row.brokerLabel = label;
    row.broker = broker;
    row.brokerDown = down;
    return row;
}

MethodRow mergedRow(const QVector<FleetMember>& members, const std::vector<Contribution>& parts,
                    bool down)
{
    MethodRow row;
    row.service = parts.front().stats->service;
    row.method = parts.front().stats->method;
    row.brokerDown = down;
    LatencyHistogram window;
    LatencyHistogram sinceStart;
    for (const Contribution& part : parts) {
        const MethodStats& stats = *part.stats;
        row.calls += stats.calls;
        row.errors += stats.errors;
        row.callsPerSecond += stats.callsPerSecond;
        row.errorsPerSecond += stats.errorsPerSecond;
        window.merge(stats.windowTotalBuckets, stats.window.total.maxUs);
        sinceStart.merge(stats.sinceStartTotalBuckets, stats.sinceStart.total.maxUs);
        row.brokers << members[part.broker].name;
        row.parts.push_back({members[part.broker].name, stats.calls, stats.window.total});
    }
    row.window.total = window.summary();
    row.sinceStart.total = sinceStart.summary();
    row.windowTotalBuckets = window.buckets();
    row.sinceStartTotalBuckets = sinceStart.buckets();
    return row;
}

void addService(ServiceStats& sum, const ServiceStats& part)
{
    sum.queueDepth += part.queueDepth;
    sum.idleWorkers += part.idleWorkers;
    sum.busyWorkers += part.busyWorkers;
    sum.requestsPerSecond += part.requestsPerSecond;
    sum.errorsPerSecond += part.errorsPerSecond;
    sum.requests += part.requests;
    sum.errors += part.errors;
    sum.expired += part.expired;
}

BrokerStatus statusOf(const FleetMember& member, const QString& label, int broker)
{
    BrokerStatus status;
    status.broker = broker;
    status.name = member.name;
    status.label = label;
    status.state = member.state;
    status.problem = member.problem;
    status.up = isUp(member);
    status.downSinceMs = status.up ? 0 : member.downSinceMs;
    status.seen = member.last.has_value();
    if (!member.last) {
        return status;
    }
    const BrokerSnapshot& snapshot = *member.last;
    status.uptimeMs = snapshot.uptimeMs;
    status.version = snapshot.version;
    status.requestsPerSecond = snapshot.totals.requestsPerSecond;
    status.requests = snapshot.totals.requests;
    status.errors = snapshot.totals.errors;
    for (const ServiceStats& service : snapshot.services) {
        status.errorsPerSecond += service.errorsPerSecond;
    }
    status.workers = static_cast<int>(
        std::count_if(snapshot.workers.begin(), snapshot.workers.end(),
                      [](const WorkerStats& w) { return w.state != WorkerStats::State::Expired; }));
    status.histograms =
        std::all_of(snapshot.methods.begin(), snapshot.methods.end(), hasHistograms);
    return status;
}

} // namespace

bool hasHistograms(const MethodStats& method)
{
    return (method.window.total.count == 0 || !method.windowTotalBuckets.isEmpty()) &&
           (method.sinceStart.total.count == 0 || !method.sinceStartTotalBuckets.isEmpty());
}

void addTotals(BrokerTotals& sum, const BrokerTotals& part)
{
    // fields() visits both records in the same order, so the n-th member of one is the n-th of
    // the other, of the same type.
    std::vector<const void*> members;
    BrokerTotals::fields(part, [&](std::string_view, const auto& member, Presence = {}) {
        members.push_back(&member);
    });
    std::size_t next = 0;
    BrokerTotals::fields(sum, [&](std::string_view, auto& member, Presence = {}) {
        using Member = std::decay_t<decltype(member)>;
        member += *static_cast<const Member*>(members[next++]);
    });
}

QStringList brokerLabels(const QStringList& names)
{
    QStringList labels;
    QStringList ports;
    for (const QString& name : names) {
        const qsizetype scheme = name.indexOf(QLatin1String("://"));
        labels << (scheme >= 0 ? name.mid(scheme + 3) : name);
        const qsizetype colon = labels.back().lastIndexOf(QLatin1Char(':'));
        ports << (colon >= 0 ? labels.back().mid(colon) : QString());
    }
    const bool samePort =
        names.size() > 1 && !ports.front().isEmpty() && ports.count(ports.front()) == ports.size();
    if (samePort) {
        QStringList hosts;
        for (const QString& label : std::as_const(labels)) {
            hosts << label.left(label.size() - ports.front().size());
        }
        if (QSet<QString>(hosts.begin(), hosts.end()).size() == hosts.size()) {
            labels = hosts;
        }
    }
    return labels;
}

FleetSnapshot combine(const QVector<FleetMember>& members)
{
    FleetSnapshot fleet;
    QStringList names;
    for (const FleetMember& member : members) {
        names << member.name;
    }
    const QStringList labels = brokerLabels(names);
    for (int i = 0; i < members.size(); ++i) {
        fleet.brokers.push_back(statusOf(members[i], labels[i], i));
        fleet.brokersUp += fleet.brokers.back().up;
    }
    const std::vector<int> counted = countedMembers(members);

    // Workers and services: every broker's rows, down ones greyed.
    for (int i = 0; i < members.size(); ++i) {
        const FleetMember& member = members[i];
        if (!member.last) {
            continue;
        }
        // One broker's rows need no greying of their own: the window greys all it shows.
        const BrokerOrigin origin{i, member.name, labels[i], members.size() > 1 && !isUp(member)};
        for (const WorkerStats& worker : member.last->workers) {
            WorkerRow row{worker, origin};
            row.liveness = member.last->liveness;
            fleet.workers.push_back(std::move(row));
        }
        for (const ServiceStats& service : member.last->services) {
            fleet.services.push_back(ServiceRow{service, origin});
        }
    }

    // Methods: by (service, method), the brokers that count merged into one row.
    // In the order the brokers list them (sorted by each), the first broker's first.
    std::vector<std::vector<Contribution>> byMethod;
    QHash<std::pair<QString, QString>, std::size_t> methodAt;
    for (int i = 0; i < members.size(); ++i) {
        if (!members[i].last) {
            continue;
        }
        for (const MethodStats& method : members[i].last->methods) {
            const auto key = std::pair(method.service, method.method);
            auto at = methodAt.constFind(key);
            if (at == methodAt.constEnd()) {
                at = methodAt.insert(key, byMethod.size());
                byMethod.emplace_back();
            }
            byMethod[*at].push_back({i, &method});
        }
    }
    for (const std::vector<Contribution>& all : byMethod) {
        std::vector<Contribution> live;
        std::copy_if(all.begin(), all.end(), std::back_inserter(live),
                     [&](const Contribution& c) { return isUp(members[c.broker]); });
        const bool down = live.empty() && members.size() > 1;
        const std::vector<Contribution>& pool = live.empty() ? all : live;
        if (pool.size() == 1) {
            const Contribution& only = pool.front();
            fleet.methods.push_back(
                ownRow(members[only.broker], labels[only.broker], only.broker, *only.stats, down));
            continue;
        }
        std::vector<Contribution> mergeable;
        for (const Contribution& c : pool) {
            if (hasHistograms(*c.stats)) {
                mergeable.push_back(c);
            } else {
                MethodRow row =
                    ownRow(members[c.broker], labels[c.broker], c.broker, *c.stats, down);
                row.unmerged = true;
                fleet.methods.push_back(std::move(row));
            }
        }
        if (mergeable.size() == 1) {
            const Contribution& only = mergeable.front();
            fleet.methods.push_back(
                ownRow(members[only.broker], labels[only.broker], only.broker, *only.stats, down));
        } else if (!mergeable.empty()) {
            fleet.methods.push_back(mergedRow(members, mergeable, down));
        }
    }

    // The snapshot standing for all: one broker's own, or the sums of those that count.
    if (members.size() == 1 && members.front().last) {
        fleet.combined = *members.front().last;
        return fleet;
    }
    BrokerSnapshot& combined = fleet.combined;
    QHash<QString, qsizetype> serviceAt;
    for (const int i : counted) {
        const BrokerSnapshot& snapshot = *members[i].last;
        combined.timeMs = std::max(combined.timeMs, snapshot.timeMs);
        combined.uptimeMs = std::max(combined.uptimeMs, snapshot.uptimeMs);
        if (combined.version.isEmpty()) {
            combined.version = snapshot.version;
        }
        combined.frontendEndpoints << snapshot.frontendEndpoints;
        combined.backendEndpoints << snapshot.backendEndpoints;
        combined.adminEndpoints << snapshot.adminEndpoints;
        combined.liveness = snapshot.liveness;
        combined.heartbeatIntervalMs = snapshot.heartbeatIntervalMs;
        addTotals(combined.totals, snapshot.totals);
        combined.workers << snapshot.workers;
        for (const ServiceStats& service : snapshot.services) {
            const auto at = serviceAt.constFind(service.name);
            if (at == serviceAt.constEnd()) {
                serviceAt.insert(service.name, combined.services.size());
                combined.services.push_back(service);
            } else {
                addService(combined.services[*at], service);
            }
        }
    }
    std::sort(combined.services.begin(), combined.services.end(),
              [](const ServiceStats& a, const ServiceStats& b) { return a.name < b.name; });
    // One line per method for the charts: the merged row, else the first broker's own.
    QSet<std::pair<QString, QString>> charted;
    for (const MethodRow& row : std::as_const(fleet.methods)) {
        if ((fleet.brokersUp == 0 || !row.brokerDown) &&
            !charted.contains({row.service, row.method})) {
            charted.insert({row.service, row.method});
            combined.methods.push_back(row);
        }
    }
    return fleet;
}

} // namespace switchboard
