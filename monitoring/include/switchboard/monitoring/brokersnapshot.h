#pragma once

#include <QByteArray>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include <array>
#include <cstdint>
#include <string_view>

namespace switchboard {

// What the broker looks like at one instant: everything the monitor shows, and nothing else it
// may read. The broker publishes one at a fixed rate (BrokerConfig::snapshotInterval); the same
// value travels to a remote monitor over the admin endpoint (docs/PROTOCOL.md, "Admin
// protocol"). Times are milliseconds, latencies microseconds; "window" figures cover the last
// LatencyWindow::kSpanMs, "total" ones the broker's whole life.
//
// The wire schema is declared here, once: each record's fields() names its keys in order, and
// snapshotcodec derives both the encoder and the decoder from it (docs/PROTOCOL.md §14 documents
// the same keys). A new counter is a member plus one line in its record's fields(); a reader
// tells an older broker's snapshot by its missing keys, so fields added after a format was
// released are marked Presence::Optional (read as their default when absent).

// Whether a reader requires a key, or takes the member's default when it is missing.
enum class Presence : std::uint8_t { Required, Optional };

// Percentiles of one latency distribution, in microseconds. All zero when count is 0.
struct LatencySummary {
    std::uint64_t count = 0;
    std::uint64_t p50Us = 0;
    std::uint64_t p95Us = 0;
    std::uint64_t p99Us = 0;
    std::uint64_t maxUs = 0;

    bool operator==(const LatencySummary&) const = default;

    // A fixed tuple, so on the wire an array [count, p50, p95, p99, max] rather than a map.
    static constexpr bool kPositional = true;
    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("count", self.count);
        visit("p50Us", self.p50Us);
        visit("p95Us", self.p95Us);
        visit("p99Us", self.p99Us);
        visit("maxUs", self.maxUs);
    }
};

// The three latencies of a request: queue wait (received -> dispatched to a worker), service time
// (dispatched -> final answer) and their sum as the client saw it through the broker.
struct LatencyBreakdown {
    LatencySummary total;
    LatencySummary queueWait;
    LatencySummary serviceTime;

    bool operator==(const LatencyBreakdown&) const = default;

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("total", self.total);
        visit("queueWait", self.queueWait);
        visit("serviceTime", self.serviceTime);
    }
};

// One bucket of a latency histogram that holds values: its index in LatencyHistogram's layout
// (latencyhistogram.h, which is therefore part of the wire format) and how many values it holds.
// A monitor of several brokers adds the buckets of the same method bucket by bucket: percentiles
// of different brokers cannot be combined into the percentiles of all their calls.
struct LatencyBucket {
    std::uint64_t index = 0;
    std::uint64_t count = 0;

    bool operator==(const LatencyBucket&) const = default;

    // [index, count]: a histogram has dozens of these, keys would triple its size.
    static constexpr bool kPositional = true;
    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("index", self.index);
        visit("count", self.count);
    }
};

// The buckets that hold values, in rising index order.
using LatencyBuckets = QVector<LatencyBucket>;

// How the requests of one method ended, since the broker started: each request answered lands
// in exactly one of these, so they add up to what its clients were answered. A request handed to
// another worker (idempotent, its worker died) or declined is not answered yet: it lands once,
// when it ends.
struct RequestOutcomes {
    std::uint64_t ok = 0;          // a worker's reply
    std::uint64_t error = 0;       // a worker's error reply, or StreamingUnsupported
    std::uint64_t expired = 0;     // Expired: its service's workers stayed busy
    std::uint64_t unavailable = 0; // ServiceUnavailable: its service had no worker
    std::uint64_t queueFull = 0;   // QueueFull: its service's queue or the broker's bytes full
    std::uint64_t workerLost = 0;  // WorkerLost
    std::uint64_t shutdown = 0;    // BrokerShutdown

    bool operator==(const RequestOutcomes&) const = default;

    std::uint64_t sum() const noexcept
    {
        return ok + error + expired + unavailable + queueFull + workerLost + shutdown;
    }

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("ok", self.ok);
        visit("error", self.error);
        visit("expired", self.expired);
        visit("unavailable", self.unavailable);
        visit("queueFull", self.queueFull);
        visit("workerLost", self.workerLost);
        visit("shutdown", self.shutdown);
    }
};

struct ServiceStats {
    QString name;
    std::uint64_t queueDepth = 0;
    std::uint64_t idleWorkers = 0;
    std::uint64_t busyWorkers = 0;
    double requestsPerSecond = 0;  // over the window
    double errorsPerSecond = 0;    // over the window
    std::uint64_t requests = 0;    // since start: accepted for this service
    std::uint64_t errors = 0;      // since start: answered with an error (worker's or broker's)
    std::uint64_t expired = 0;     // since start: answered Expired or ServiceUnavailable
    std::uint64_t queuedBytes = 0; // now: the bytes of its queued requests

    bool operator==(const ServiceStats&) const = default;

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("name", self.name);
        visit("queueDepth", self.queueDepth);
        visit("idleWorkers", self.idleWorkers);
        visit("busyWorkers", self.busyWorkers);
        visit("requestsPerSecond", self.requestsPerSecond);
        visit("errorsPerSecond", self.errorsPerSecond);
        visit("requests", self.requests);
        visit("errors", self.errors);
        visit("expired", self.expired);
        visit("queuedBytes", self.queuedBytes, Presence::Optional);
    }
};

// One method of one service, as named by the envelope's method frame. Requests whose body has no
// envelope-shaped method are counted under an empty method name.
struct MethodStats {
    QString service;
    QString method;
    std::uint64_t calls = 0;  // since start: answered (reply or error)
    std::uint64_t errors = 0; // since start
    double callsPerSecond = 0;
    double errorsPerSecond = 0;
    LatencyBreakdown window;
    LatencyBreakdown sinceStart;
    // The histograms behind window.total and sinceStart.total (their maxima are the summaries').
    // Empty when nothing was recorded, and from brokers older than these keys: a summary with a
    // count and no buckets cannot be merged with another broker's.
    LatencyBuckets windowTotalBuckets;
    LatencyBuckets sinceStartTotalBuckets;
    // Since start, for a Prometheus histogram: the buckets behind sinceStart.queueWait, and the
    // sums of the values in sinceStartTotalBuckets and sinceStartQueueWaitBuckets (microseconds).
    LatencyBuckets sinceStartQueueWaitBuckets;
    std::uint64_t sinceStartTotalSumUs = 0;
    std::uint64_t sinceStartQueueWaitSumUs = 0;
    // How its calls ended; calls == outcomes.sum(). All zero from older brokers.
    RequestOutcomes outcomes;

    bool operator==(const MethodStats&) const = default;

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("service", self.service);
        visit("method", self.method);
        visit("calls", self.calls);
        visit("errors", self.errors);
        visit("callsPerSecond", self.callsPerSecond);
        visit("errorsPerSecond", self.errorsPerSecond);
        visit("window", self.window);
        visit("sinceStart", self.sinceStart);
        visit("windowTotalBuckets", self.windowTotalBuckets, Presence::Optional);
        visit("sinceStartTotalBuckets", self.sinceStartTotalBuckets, Presence::Optional);
        visit("sinceStartQueueWaitBuckets", self.sinceStartQueueWaitBuckets, Presence::Optional);
        visit("sinceStartTotalSumUs", self.sinceStartTotalSumUs, Presence::Optional);
        visit("sinceStartQueueWaitSumUs", self.sinceStartQueueWaitSumUs, Presence::Optional);
        visit("outcomes", self.outcomes, Presence::Optional);
    }
};

struct WorkerStats {
    enum class State : std::uint8_t {
        Idle,
        Busy,
        Late,    // registered, but missed at least one heartbeat: liveness is running out
        Expired, // purged for silence; kept in snapshots for a while so an operator sees it
    };

    QByteArray identity; // the raw ZeroMQ routing id: what evictWorker() takes
    QString name;        // identity as text when printable, else hex
    QString peerAddress; // the peer's IP ("127.0.0.1", as libzmq reports it, without the port);
                         // empty where the transport has none (ipc, inproc)
    QString service;
    QString protocol; // "MDPW01" or "MDPW02"
    State state = State::Idle;
    QString currentMethod;          // while busy: of the request that has run longest
    std::int64_t busyForMs = 0;     // how long that request has run
    int inFlight = 0;               // requests it holds now
    int capacity = 1;               // how many it may hold: its credit, 1 for plain MDP
    std::uint64_t served = 0;       // final answers delivered
    std::uint64_t errors = 0;       // of which errors
    std::int64_t lastSeenAgeMs = 0; // since anything (heartbeat or answer) arrived from it
    int livenessLeft = 0;           // heartbeats it may still miss before it is purged
    std::int64_t connectedForMs = 0;

    bool operator==(const WorkerStats&) const = default;

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("identity", self.identity);
        visit("name", self.name);
        visit("peerAddress", self.peerAddress);
        visit("service", self.service);
        visit("protocol", self.protocol);
        visit("state", self.state);
        visit("currentMethod", self.currentMethod);
        visit("busyForMs", self.busyForMs);
        visit("inFlight", self.inFlight, Presence::Optional); // since credit (format 1)
        visit("capacity", self.capacity, Presence::Optional);
        visit("served", self.served);
        visit("errors", self.errors);
        visit("lastSeenAgeMs", self.lastSeenAgeMs);
        visit("livenessLeft", self.livenessLeft);
        visit("connectedForMs", self.connectedForMs);
    }
};

struct BrokerEvent {
    enum class Kind : std::uint8_t {
        WorkerJoined,
        WorkerLeft,         // said DISCONNECT
        WorkerExpired,      // purged for silence or a lost connection
        WorkerEvicted,      // by an operator
        WorkerDisconnected, // by the broker, for a protocol violation
        RequestExpired,     // answered Expired or ServiceUnavailable
        ProtocolError,      // a malformed message from a client or worker
        // Added later: a monitor reading an older broker never sees them.
        ClientNotReading, // a client's pipe was full: its answers are held until it reads
        ClientAtBound,    // a client holds too many unread answers: new requests get QueueFull
        RepliesDropped,   // answers dropped for good: their client was gone, or never read
    };

    std::uint64_t sequence = 0; // strictly increasing over the broker's life
    std::int64_t timeMs = 0;    // wall clock, ms since the Unix epoch
    Kind kind = Kind::WorkerJoined;
    QString service; // may be empty
    QString worker;  // WorkerStats::name, may be empty
    QString text;    // one line for the operator
    // How many occurrences this event stands for: 1, except for floods of RequestExpired,
    // ProtocolError and WorkerDisconnected, which are written at most once per service and second.
    std::uint64_t count = 1;

    bool operator==(const BrokerEvent&) const = default;

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("sequence", self.sequence);
        visit("timeMs", self.timeMs);
        visit("kind", self.kind);
        visit("service", self.service);
        visit("worker", self.worker);
        visit("text", self.text);
        visit("count", self.count);
    }
};

struct BrokerTotals {
    std::uint64_t requests = 0; // well-formed client requests, MMI included
    std::uint64_t replies = 0;  // final answers delivered (replies and errors)
    std::uint64_t errors = 0;   // errors delivered, the broker's own and workers'
    std::uint64_t expired = 0;
    std::uint64_t queueFull = 0;
    std::uint64_t workerLost = 0;
    std::uint64_t malformed = 0;
    std::uint64_t workersRegistered = 0;
    std::uint64_t workersPurged = 0;
    std::uint64_t workersEvicted = 0;
    double requestsPerSecond = 0;     // over the window
    std::uint64_t adminRequests = 0;  // messages on the admin endpoint
    std::uint64_t adminMalformed = 0; // of which refused (malformed, unknown command, too large)
    std::uint64_t requeued = 0;       // idempotent requests sent to another worker after a death
    std::uint64_t lateReplies = 0;    // answers from workers given up on, dropped
    // Answers for clients that do not read: held until they do (BrokerConfig::socketHwm).
    std::uint64_t heldReplies = 0;       // now: waiting for their clients to read
    std::uint64_t heldReplyBytes = 0;    // now: their bytes
    std::uint64_t slowClients = 0;       // now: clients with answers held
    std::uint64_t clientsAtBound = 0;    // now: of which refused new requests (QueueFull)
    std::uint64_t repliesHeld = 0;       // since start: answers that had to wait for their client
    std::uint64_t repliesDropped = 0;    // since start: answers dropped, their client gone
    std::uint64_t refusedUnread = 0;     // since start: QueueFull for a client with too much unread
    std::uint64_t requestsDiscarded = 0; // since start: unanswered, refusals fill a bound
    // Since start: requests handed back by workers with credit that were full (DECLINE,
    // docs/PROTOCOL.md §11.2) and queued again.
    std::uint64_t declined = 0;

    bool operator==(const BrokerTotals&) const = default;

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        constexpr auto later = Presence::Optional; // newer than the first brokers with totals
        visit("requests", self.requests);
        visit("replies", self.replies);
        visit("errors", self.errors);
        visit("expired", self.expired);
        visit("queueFull", self.queueFull);
        visit("workerLost", self.workerLost);
        visit("malformed", self.malformed);
        visit("workersRegistered", self.workersRegistered);
        visit("workersPurged", self.workersPurged);
        visit("workersEvicted", self.workersEvicted);
        visit("requestsPerSecond", self.requestsPerSecond);
        visit("adminRequests", self.adminRequests);
        visit("adminMalformed", self.adminMalformed);
        visit("requeued", self.requeued, later);
        visit("lateReplies", self.lateReplies, later);
        visit("heldReplies", self.heldReplies, later);
        visit("heldReplyBytes", self.heldReplyBytes, later);
        visit("slowClients", self.slowClients, later);
        visit("clientsAtBound", self.clientsAtBound, later);
        visit("repliesHeld", self.repliesHeld, later);
        visit("repliesDropped", self.repliesDropped, later);
        visit("refusedUnread", self.refusedUnread, later);
        visit("requestsDiscarded", self.requestsDiscarded, later);
        visit("declined", self.declined, later);
    }
};

// Where the messages that reached the frontend and the backend went. Each message read lands in
// exactly one bucket, so the buckets of a socket add up to what it received: a message the broker
// dropped without counting would show as a difference. Admin messages are in BrokerTotals.
struct MessageIntake {
    std::uint64_t clientMessages = 0;  // read from the frontend
    std::uint64_t clientRequests = 0;  // of which well-formed requests (MMI included)
    std::uint64_t clientMalformed = 0; // of which refused by the codec
    std::uint64_t workerMessages = 0;  // read from the backend
    std::uint64_t workerMalformed = 0; // of which refused by the codec
    std::uint64_t workerReady = 0;     // READY that registered a worker
    std::uint64_t workerHeartbeats = 0;
    std::uint64_t workerAnswers = 0;  // REPLY, PARTIAL or FINAL for a request the worker held
    std::uint64_t workerDeclines = 0; // DECLINE of a request the worker held
    std::uint64_t workerLeft = 0;     // DISCONNECT from a registered worker
    std::uint64_t workerRefused = 0;  // well-formed but not allowed in that state: DISCONNECT sent
    std::uint64_t workerIgnored = 0;  // DISCONNECT from a worker the broker did not know

    bool operator==(const MessageIntake&) const = default;

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("clientMessages", self.clientMessages);
        visit("clientRequests", self.clientRequests);
        visit("clientMalformed", self.clientMalformed);
        visit("workerMessages", self.workerMessages);
        visit("workerMalformed", self.workerMalformed);
        visit("workerReady", self.workerReady);
        visit("workerHeartbeats", self.workerHeartbeats);
        visit("workerAnswers", self.workerAnswers);
        // Newer than the intake itself: a reader of an older broker takes it as 0.
        visit("workerDeclines", self.workerDeclines, Presence::Optional);
        visit("workerLeft", self.workerLeft);
        visit("workerRefused", self.workerRefused);
        visit("workerIgnored", self.workerIgnored);
    }
};

struct BrokerSnapshot {
    std::uint64_t sequence = 0; // one more for every snapshot the broker takes
    std::int64_t timeMs = 0;    // wall clock when taken, ms since the Unix epoch
    std::int64_t uptimeMs = 0;
    QString version; // the broker's version
    QStringList frontendEndpoints;
    QStringList backendEndpoints;
    QStringList adminEndpoints;
    std::int64_t heartbeatIntervalMs = 0;
    int liveness = 0;
    BrokerTotals totals;
    MessageIntake intake;
    QVector<ServiceStats> services; // sorted by name
    QVector<MethodStats> methods;   // sorted by service, then method
    QVector<WorkerStats> workers;   // sorted by service, then name
    QVector<BrokerEvent> events;    // the newest of the event ring, oldest first

    bool operator==(const BrokerSnapshot&) const = default;

    template <typename Self, typename Visit>
    static void fields(Self& self, Visit&& visit)
    {
        visit("sequence", self.sequence);
        visit("timeMs", self.timeMs);
        visit("uptimeMs", self.uptimeMs);
        visit("version", self.version);
        visit("frontendEndpoints", self.frontendEndpoints);
        visit("backendEndpoints", self.backendEndpoints);
        visit("adminEndpoints", self.adminEndpoints);
        visit("heartbeatIntervalMs", self.heartbeatIntervalMs);
        visit("liveness", self.liveness);
        visit("totals", self.totals);
        visit("intake", self.intake);
        visit("services", self.services);
        visit("methods", self.methods);
        visit("workers", self.workers);
        visit("events", self.events);
    }
};

QString toString(WorkerStats::State state);
QString toString(BrokerEvent::Kind kind);

// The names the wire uses for the enumerations (docs/PROTOCOL.md §14), in declaration order.
// An unknown state makes a snapshot unreadable; an event of an unknown kind is skipped, so a
// broker may add kinds without a new format.
inline constexpr std::array<std::string_view, 4> kWorkerStateNames{"idle", "busy", "late",
                                                                   "expired"};
inline constexpr std::array<std::string_view, 10> kEventKindNames{
    "WorkerJoined",   "WorkerLeft",    "WorkerExpired",    "WorkerEvicted", "WorkerDisconnected",
    "RequestExpired", "ProtocolError", "ClientNotReading", "ClientAtBound", "RepliesDropped"};
constexpr const auto& wireNames(WorkerStats::State) noexcept
{
    return kWorkerStateNames;
}
constexpr const auto& wireNames(BrokerEvent::Kind) noexcept
{
    return kEventKindNames;
}

} // namespace switchboard

Q_DECLARE_METATYPE(switchboard::BrokerSnapshot)
