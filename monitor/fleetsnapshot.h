#pragma once

#include "brokerlink.h"

#include <switchboard/monitoring/brokersnapshot.h>

#include <QString>
#include <QStringList>
#include <QVector>

#include <cstdint>
#include <optional>

namespace switchboard {

// Which broker a row of the monitor's tables came from.
struct BrokerOrigin {
    int broker = 0;      // index of its link in the BrokerFleet
    QString brokerName;  // the link's description: its admin endpoint, or "in-process broker"
    QString brokerLabel; // as short as tells it from the others ("10.1.1.5"), for table cells
    // The row is what its broker last reported before it went down: shown greyed, not as live.
    bool brokerDown = false;

    bool operator==(const BrokerOrigin&) const = default;
};

struct WorkerRow : WorkerStats, BrokerOrigin {
    int liveness = 0; // its broker's: heartbeats a worker may miss

    bool operator==(const WorkerRow&) const = default;
};

// One broker's service: queues and idle workers do not add up across brokers (a request queued on
// one cannot go to an idle worker of another), so services stay one row per broker.
struct ServiceRow : ServiceStats, BrokerOrigin {
    bool operator==(const ServiceRow&) const = default;
};

// One broker's share of a merged method row, for its tooltip.
struct MethodPart {
    QString brokerName;
    std::uint64_t calls = 0;
    LatencySummary window; // its own window.total

    bool operator==(const MethodPart&) const = default;
};

// A method as the operator reads it across brokers: calls and rates summed, and the latency of the
// union of their calls, from their merged histograms (window.total and sinceStart.total; queue
// wait and service time travel as percentiles only, so a merged row has none). With one broker
// it is that broker's MethodStats unchanged.
struct MethodRow : MethodStats {
    QStringList brokers;       // the brokers it sums, in fleet order
    QString brokerLabel;       // with one broker: its short label
    QVector<MethodPart> parts; // with more than one broker: each one's own numbers
    bool unmerged = false;     // an older broker without histograms, shown apart with its own
                               // percentiles because they cannot be merged with the others'
    bool brokerDown = false;   // every broker in the row is down
    int broker = -1;           // with one broker: its index

    bool operator==(const MethodRow&) const = default;
};

// One line of the broker table.
struct BrokerStatus {
    int broker = 0;
    QString name;  // the link's description
    QString label; // short, as the other tables' Broker columns show it
    BrokerLink::State state = BrokerLink::State::Connecting;
    QString problem;              // the link's, when Incompatible
    bool up = false;              // connected and has sent a snapshot
    std::int64_t downSinceMs = 0; // wall clock when it went down; 0 while up or never seen up
    bool seen = false;            // a snapshot arrived from it at least once
    std::int64_t uptimeMs = 0;
    QString version;
    double requestsPerSecond = 0;
    double errorsPerSecond = 0; // its services', summed
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    int workers = 0;        // not expired
    bool histograms = true; // false for a broker that reports percentiles only (older release)

    bool operator==(const BrokerStatus&) const = default;
};

// Everything the window shows about several brokers at once, built from each broker's latest
// snapshot by combine(). `combined` is one BrokerSnapshot standing for all of them, for what
// shows totals (status bar, titles, charts): totals and services summed, methods merged as in
// `methods`. With one broker, `combined` is its snapshot unchanged.
struct FleetSnapshot {
    QVector<BrokerStatus> brokers;
    QVector<WorkerRow> workers;
    QVector<ServiceRow> services;
    QVector<MethodRow> methods;
    BrokerSnapshot combined;
    int brokersUp = 0;
};

// What combine() knows of one broker.
struct FleetMember {
    QString name;
    BrokerLink::State state = BrokerLink::State::Connecting;
    QString problem;
    std::int64_t downSinceMs = 0;
    std::optional<BrokerSnapshot> last; // the latest snapshot, kept while the broker is down
    // A snapshot arrived since the link last connected: until then `last` is history.
    bool reporting = false;
};

// Whether the monitor can merge this method's latencies with another broker's: it came with the
// histograms behind its totals (or recorded nothing that would need them).
bool hasHistograms(const MethodStats& method);

// Builds the rows of several brokers. Totals and merged rows count the brokers that are up; a row
// whose brokers are all down keeps their last numbers, marked brokerDown.
FleetSnapshot combine(const QVector<FleetMember>& members);

// Names as short as still tells them apart, for a table column: without the transport
// ("tcp://"), and without the port when all have the same one.
QStringList brokerLabels(const QStringList& names);

// Adds `part` into `sum` field by field, over the record's fields(): a counter added to the
// schema is summed without an edit here.
void addTotals(BrokerTotals& sum, const BrokerTotals& part);

} // namespace switchboard
