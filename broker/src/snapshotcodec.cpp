#include "snapshotcodec.h"

#include <switchboard/protocol/error.h>
#include <switchboard/protocol/payload.h>

#include <msgpack.hpp>

#include <array>
#include <limits>
#include <utility>

namespace switchboard::snapshotcodec {

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

constexpr std::array<std::pair<WorkerStats::State, std::string_view>, 4> kStates{{
    {WorkerStats::State::Idle, "idle"},
    {WorkerStats::State::Busy, "busy"},
    {WorkerStats::State::Late, "late"},
    {WorkerStats::State::Expired, "expired"},
}};

constexpr std::array<std::pair<BrokerEvent::Kind, std::string_view>, 10> kKinds{{
    {BrokerEvent::Kind::WorkerJoined, "WorkerJoined"},
    {BrokerEvent::Kind::WorkerLeft, "WorkerLeft"},
    {BrokerEvent::Kind::WorkerExpired, "WorkerExpired"},
    {BrokerEvent::Kind::WorkerEvicted, "WorkerEvicted"},
    {BrokerEvent::Kind::WorkerDisconnected, "WorkerDisconnected"},
    {BrokerEvent::Kind::RequestExpired, "RequestExpired"},
    {BrokerEvent::Kind::ProtocolError, "ProtocolError"},
    {BrokerEvent::Kind::ClientNotReading, "ClientNotReading"},
    {BrokerEvent::Kind::ClientAtBound, "ClientAtBound"},
    {BrokerEvent::Kind::RepliesDropped, "RepliesDropped"},
}};

template <typename Enum, std::size_t N>
std::string_view nameOf(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum value)
{
    for (const auto& [candidate, name] : names) {
        if (candidate == value) {
            return name;
        }
    }
    return names[0].second;
}

[[noreturn]] void fail(const std::string& text)
{
    throw ProtocolError(ProtocolErrorKind::InvalidPayload, "snapshot: " + text);
}

// ----------------------------------------------------------------------------------------------
// Encoding

void packText(Packer& packer, std::string_view text)
{
    packer.pack_str(static_cast<std::uint32_t>(text.size()));
    packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

void packText(Packer& packer, const QString& text)
{
    const QByteArray utf8 = text.toUtf8();
    packText(packer, std::string_view(utf8.constData(), static_cast<std::size_t>(utf8.size())));
}

void packKey(Packer& packer, std::string_view key)
{
    packText(packer, key);
}

void packTexts(Packer& packer, const QStringList& texts)
{
    packer.pack_array(static_cast<std::uint32_t>(texts.size()));
    for (const QString& text : texts) {
        packText(packer, text);
    }
}

// [count, p50, p95, p99, max]: a fixed tuple, so an array rather than a map.
void packSummary(Packer& packer, const LatencySummary& summary)
{
    packer.pack_array(5);
    packer.pack(summary.count);
    packer.pack(summary.p50Us);
    packer.pack(summary.p95Us);
    packer.pack(summary.p99Us);
    packer.pack(summary.maxUs);
}

void packBreakdown(Packer& packer, const LatencyBreakdown& breakdown)
{
    packer.pack_map(3);
    packKey(packer, "total");
    packSummary(packer, breakdown.total);
    packKey(packer, "queueWait");
    packSummary(packer, breakdown.queueWait);
    packKey(packer, "serviceTime");
    packSummary(packer, breakdown.serviceTime);
}

void packTotals(Packer& packer, const BrokerTotals& totals)
{
    packer.pack_map(23);
    packKey(packer, "requests");
    packer.pack(totals.requests);
    packKey(packer, "replies");
    packer.pack(totals.replies);
    packKey(packer, "errors");
    packer.pack(totals.errors);
    packKey(packer, "expired");
    packer.pack(totals.expired);
    packKey(packer, "queueFull");
    packer.pack(totals.queueFull);
    packKey(packer, "workerLost");
    packer.pack(totals.workerLost);
    packKey(packer, "requeued");
    packer.pack(totals.requeued);
    packKey(packer, "lateReplies");
    packer.pack(totals.lateReplies);
    packKey(packer, "heldReplies");
    packer.pack(totals.heldReplies);
    packKey(packer, "heldReplyBytes");
    packer.pack(totals.heldReplyBytes);
    packKey(packer, "slowClients");
    packer.pack(totals.slowClients);
    packKey(packer, "clientsAtBound");
    packer.pack(totals.clientsAtBound);
    packKey(packer, "repliesHeld");
    packer.pack(totals.repliesHeld);
    packKey(packer, "repliesDropped");
    packer.pack(totals.repliesDropped);
    packKey(packer, "refusedUnread");
    packer.pack(totals.refusedUnread);
    packKey(packer, "requestsDiscarded");
    packer.pack(totals.requestsDiscarded);
    packKey(packer, "malformed");
    packer.pack(totals.malformed);
    packKey(packer, "workersRegistered");
    packer.pack(totals.workersRegistered);
    packKey(packer, "workersPurged");
    packer.pack(totals.workersPurged);
    packKey(packer, "workersEvicted");
    packer.pack(totals.workersEvicted);
    packKey(packer, "requestsPerSecond");
    packer.pack_double(totals.requestsPerSecond);
    packKey(packer, "adminRequests");
    packer.pack(totals.adminRequests);
    packKey(packer, "adminMalformed");
    packer.pack(totals.adminMalformed);
}

void packIntake(Packer& packer, const MessageIntake& intake)
{
    packer.pack_map(11);
    packKey(packer, "clientMessages");
    packer.pack(intake.clientMessages);
    packKey(packer, "clientRequests");
    packer.pack(intake.clientRequests);
    packKey(packer, "clientMalformed");
    packer.pack(intake.clientMalformed);
    packKey(packer, "workerMessages");
    packer.pack(intake.workerMessages);
    packKey(packer, "workerMalformed");
    packer.pack(intake.workerMalformed);
    packKey(packer, "workerReady");
    packer.pack(intake.workerReady);
    packKey(packer, "workerHeartbeats");
    packer.pack(intake.workerHeartbeats);
    packKey(packer, "workerAnswers");
    packer.pack(intake.workerAnswers);
    packKey(packer, "workerLeft");
    packer.pack(intake.workerLeft);
    packKey(packer, "workerRefused");
    packer.pack(intake.workerRefused);
    packKey(packer, "workerIgnored");
    packer.pack(intake.workerIgnored);
}

void packService(Packer& packer, const ServiceStats& service)
{
    packer.pack_map(9);
    packKey(packer, "name");
    packText(packer, service.name);
    packKey(packer, "queueDepth");
    packer.pack(service.queueDepth);
    packKey(packer, "idleWorkers");
    packer.pack(service.idleWorkers);
    packKey(packer, "busyWorkers");
    packer.pack(service.busyWorkers);
    packKey(packer, "requestsPerSecond");
    packer.pack_double(service.requestsPerSecond);
    packKey(packer, "errorsPerSecond");
    packer.pack_double(service.errorsPerSecond);
    packKey(packer, "requests");
    packer.pack(service.requests);
    packKey(packer, "errors");
    packer.pack(service.errors);
    packKey(packer, "expired");
    packer.pack(service.expired);
}

void packMethod(Packer& packer, const MethodStats& method)
{
    packer.pack_map(8);
    packKey(packer, "service");
    packText(packer, method.service);
    packKey(packer, "method");
    packText(packer, method.method);
    packKey(packer, "calls");
    packer.pack(method.calls);
    packKey(packer, "errors");
    packer.pack(method.errors);
    packKey(packer, "callsPerSecond");
    packer.pack_double(method.callsPerSecond);
    packKey(packer, "errorsPerSecond");
    packer.pack_double(method.errorsPerSecond);
    packKey(packer, "window");
    packBreakdown(packer, method.window);
    packKey(packer, "sinceStart");
    packBreakdown(packer, method.sinceStart);
}

void packWorker(Packer& packer, const WorkerStats& worker)
{
    packer.pack_map(13);
    packKey(packer, "identity");
    packer.pack_bin(static_cast<std::uint32_t>(worker.identity.size()));
    packer.pack_bin_body(worker.identity.constData(),
                         static_cast<std::uint32_t>(worker.identity.size()));
    packKey(packer, "name");
    packText(packer, worker.name);
    packKey(packer, "peerAddress");
    packText(packer, worker.peerAddress);
    packKey(packer, "service");
    packText(packer, worker.service);
    packKey(packer, "protocol");
    packText(packer, worker.protocol);
    packKey(packer, "state");
    packText(packer, nameOf(kStates, worker.state));
    packKey(packer, "currentMethod");
    packText(packer, worker.currentMethod);
    packKey(packer, "busyForMs");
    packer.pack(worker.busyForMs);
    packKey(packer, "served");
    packer.pack(worker.served);
    packKey(packer, "errors");
    packer.pack(worker.errors);
    packKey(packer, "lastSeenAgeMs");
    packer.pack(worker.lastSeenAgeMs);
    packKey(packer, "livenessLeft");
    packer.pack(worker.livenessLeft);
    packKey(packer, "connectedForMs");
    packer.pack(worker.connectedForMs);
}

void packEvent(Packer& packer, const BrokerEvent& event)
{
    packer.pack_map(7);
    packKey(packer, "sequence");
    packer.pack(event.sequence);
    packKey(packer, "timeMs");
    packer.pack(event.timeMs);
    packKey(packer, "kind");
    packText(packer, nameOf(kKinds, event.kind));
    packKey(packer, "service");
    packText(packer, event.service);
    packKey(packer, "worker");
    packText(packer, event.worker);
    packKey(packer, "text");
    packText(packer, event.text);
    packKey(packer, "count");
    packer.pack(event.count);
}

template <typename T, typename PackOne>
void packRows(Packer& packer, const QVector<T>& rows, PackOne packOne)
{
    packer.pack_array(static_cast<std::uint32_t>(rows.size()));
    for (const T& row : rows) {
        packOne(packer, row);
    }
}

// ----------------------------------------------------------------------------------------------
// Decoding

std::string_view typeName(const msgpack::object& object)
{
    return rpc::describeType(object.type);
}

// The keys of one map, looked up by name; `what` names the map in error texts.
class MapReader {
public:
    MapReader(const msgpack::object& object, std::string what)
        : m_what(std::move(what))
    {
        if (object.type != msgpack::type::MAP) {
            fail(m_what + " is " + std::string(typeName(object)) + ", expected a map");
        }
        m_map = &object.via.map;
    }

    bool has(std::string_view key) const noexcept
    {
        for (std::uint32_t i = 0; i < m_map->size; ++i) {
            const msgpack::object& candidate = m_map->ptr[i].key;
            if (candidate.type == msgpack::type::STR &&
                std::string_view(candidate.via.str.ptr, candidate.via.str.size) == key) {
                return true;
            }
        }
        return false;
    }

    const msgpack::object& get(std::string_view key) const
    {
        for (std::uint32_t i = 0; i < m_map->size; ++i) {
            const msgpack::object& candidate = m_map->ptr[i].key;
            if (candidate.type == msgpack::type::STR &&
                std::string_view(candidate.via.str.ptr, candidate.via.str.size) == key) {
                return m_map->ptr[i].val;
            }
        }
        fail(m_what + " has no \"" + std::string(key) + "\"");
    }

    std::uint64_t u64(std::string_view key) const
    {
        const msgpack::object& value = get(key);
        if (value.type != msgpack::type::POSITIVE_INTEGER) {
            wrongType(key, value, "an unsigned integer");
        }
        return value.via.u64;
    }

    std::int64_t i64(std::string_view key) const
    {
        const msgpack::object& value = get(key);
        if (value.type == msgpack::type::NEGATIVE_INTEGER) {
            return value.via.i64;
        }
        if (value.type != msgpack::type::POSITIVE_INTEGER ||
            value.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            wrongType(key, value, "an integer");
        }
        return static_cast<std::int64_t>(value.via.u64);
    }

    int i32(std::string_view key) const
    {
        const std::int64_t value = i64(key);
        if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
            fail(m_what + " \"" + std::string(key) + "\" is out of range");
        }
        return static_cast<int>(value);
    }

    double f64(std::string_view key) const
    {
        const msgpack::object& value = get(key);
        switch (value.type) {
        case msgpack::type::FLOAT32:
        case msgpack::type::FLOAT64:
            return value.via.f64;
        case msgpack::type::POSITIVE_INTEGER:
            return static_cast<double>(value.via.u64);
        case msgpack::type::NEGATIVE_INTEGER:
            return static_cast<double>(value.via.i64);
        default:
            wrongType(key, value, "a number");
        }
    }

    QString text(std::string_view key) const
    {
        const msgpack::object& value = get(key);
        if (value.type != msgpack::type::STR) {
            wrongType(key, value, "a string");
        }
        return QString::fromUtf8(value.via.str.ptr, static_cast<qsizetype>(value.via.str.size));
    }

    QByteArray bytes(std::string_view key) const
    {
        const msgpack::object& value = get(key);
        if (value.type != msgpack::type::BIN) {
            wrongType(key, value, "binary");
        }
        return QByteArray(value.via.bin.ptr, static_cast<qsizetype>(value.via.bin.size));
    }

    const msgpack::object_array& array(std::string_view key) const
    {
        const msgpack::object& value = get(key);
        if (value.type != msgpack::type::ARRAY) {
            wrongType(key, value, "an array");
        }
        return value.via.array;
    }

    QStringList texts(std::string_view key) const
    {
        QStringList list;
        const auto& items = array(key);
        for (std::uint32_t i = 0; i < items.size; ++i) {
            if (items.ptr[i].type != msgpack::type::STR) {
                fail(m_what + " \"" + std::string(key) + "\" holds " +
                     std::string(typeName(items.ptr[i])) + ", expected strings");
            }
            list << QString::fromUtf8(items.ptr[i].via.str.ptr,
                                      static_cast<qsizetype>(items.ptr[i].via.str.size));
        }
        return list;
    }

    template <typename Enum, std::size_t N>
    Enum named(std::string_view key,
               const std::array<std::pair<Enum, std::string_view>, N>& names) const
    {
        const QByteArray name = text(key).toUtf8();
        for (const auto& [value, candidate] : names) {
            if (candidate ==
                std::string_view(name.constData(), static_cast<std::size_t>(name.size()))) {
                return value;
            }
        }
        fail(m_what + " \"" + std::string(key) + "\" is unknown: " + name.toStdString());
    }

    const std::string& what() const noexcept { return m_what; }

private:
    [[noreturn]] void wrongType(std::string_view key, const msgpack::object& value,
                                const char* expected) const
    {
        fail(m_what + " \"" + std::string(key) + "\" is " + std::string(typeName(value)) +
             ", expected " + expected);
    }

    std::string m_what;
    const msgpack::object_map* m_map = nullptr;
};

LatencySummary readSummary(const msgpack::object& object, const std::string& what)
{
    if (object.type != msgpack::type::ARRAY || object.via.array.size != 5) {
        fail(what + " must be an array of 5 unsigned integers");
    }
    std::array<std::uint64_t, 5> values{};
    for (std::uint32_t i = 0; i < 5; ++i) {
        const msgpack::object& value = object.via.array.ptr[i];
        if (value.type != msgpack::type::POSITIVE_INTEGER) {
            fail(what + " must be an array of 5 unsigned integers");
        }
        values[i] = value.via.u64;
    }
    return {values[0], values[1], values[2], values[3], values[4]};
}

LatencyBreakdown readBreakdown(const msgpack::object& object, const std::string& what)
{
    const MapReader map(object, what);
    LatencyBreakdown breakdown;
    breakdown.total = readSummary(map.get("total"), what + ".total");
    breakdown.queueWait = readSummary(map.get("queueWait"), what + ".queueWait");
    breakdown.serviceTime = readSummary(map.get("serviceTime"), what + ".serviceTime");
    return breakdown;
}

BrokerTotals readTotals(const MapReader& map)
{
    BrokerTotals totals;
    totals.requests = map.u64("requests");
    totals.replies = map.u64("replies");
    totals.errors = map.u64("errors");
    totals.expired = map.u64("expired");
    totals.queueFull = map.u64("queueFull");
    totals.workerLost = map.u64("workerLost");
    // Newer than the rest: a monitor may read a broker from before them.
    totals.requeued = map.has("requeued") ? map.u64("requeued") : 0;
    totals.lateReplies = map.has("lateReplies") ? map.u64("lateReplies") : 0;
    const auto optional = [&](std::string_view key) { return map.has(key) ? map.u64(key) : 0; };
    totals.heldReplies = optional("heldReplies");
    totals.heldReplyBytes = optional("heldReplyBytes");
    totals.slowClients = optional("slowClients");
    totals.clientsAtBound = optional("clientsAtBound");
    totals.repliesHeld = optional("repliesHeld");
    totals.repliesDropped = optional("repliesDropped");
    totals.refusedUnread = optional("refusedUnread");
    totals.requestsDiscarded = optional("requestsDiscarded");
    totals.malformed = map.u64("malformed");
    totals.workersRegistered = map.u64("workersRegistered");
    totals.workersPurged = map.u64("workersPurged");
    totals.workersEvicted = map.u64("workersEvicted");
    totals.requestsPerSecond = map.f64("requestsPerSecond");
    totals.adminRequests = map.u64("adminRequests");
    totals.adminMalformed = map.u64("adminMalformed");
    return totals;
}

MessageIntake readIntake(const MapReader& map)
{
    MessageIntake intake;
    intake.clientMessages = map.u64("clientMessages");
    intake.clientRequests = map.u64("clientRequests");
    intake.clientMalformed = map.u64("clientMalformed");
    intake.workerMessages = map.u64("workerMessages");
    intake.workerMalformed = map.u64("workerMalformed");
    intake.workerReady = map.u64("workerReady");
    intake.workerHeartbeats = map.u64("workerHeartbeats");
    intake.workerAnswers = map.u64("workerAnswers");
    intake.workerLeft = map.u64("workerLeft");
    intake.workerRefused = map.u64("workerRefused");
    intake.workerIgnored = map.u64("workerIgnored");
    return intake;
}

ServiceStats readService(const MapReader& map)
{
    ServiceStats service;
    service.name = map.text("name");
    service.queueDepth = map.u64("queueDepth");
    service.idleWorkers = map.u64("idleWorkers");
    service.busyWorkers = map.u64("busyWorkers");
    service.requestsPerSecond = map.f64("requestsPerSecond");
    service.errorsPerSecond = map.f64("errorsPerSecond");
    service.requests = map.u64("requests");
    service.errors = map.u64("errors");
    service.expired = map.u64("expired");
    return service;
}

MethodStats readMethod(const MapReader& map)
{
    MethodStats method;
    method.service = map.text("service");
    method.method = map.text("method");
    method.calls = map.u64("calls");
    method.errors = map.u64("errors");
    method.callsPerSecond = map.f64("callsPerSecond");
    method.errorsPerSecond = map.f64("errorsPerSecond");
    method.window = readBreakdown(map.get("window"), map.what() + ".window");
    method.sinceStart = readBreakdown(map.get("sinceStart"), map.what() + ".sinceStart");
    return method;
}

WorkerStats readWorker(const MapReader& map)
{
    WorkerStats worker;
    worker.identity = map.bytes("identity");
    worker.name = map.text("name");
    worker.peerAddress = map.text("peerAddress");
    worker.service = map.text("service");
    worker.protocol = map.text("protocol");
    worker.state = map.named("state", kStates);
    worker.currentMethod = map.text("currentMethod");
    worker.busyForMs = map.i64("busyForMs");
    worker.served = map.u64("served");
    worker.errors = map.u64("errors");
    worker.lastSeenAgeMs = map.i64("lastSeenAgeMs");
    worker.livenessLeft = map.i32("livenessLeft");
    worker.connectedForMs = map.i64("connectedForMs");
    return worker;
}

BrokerEvent readEvent(const MapReader& map)
{
    BrokerEvent event;
    event.sequence = map.u64("sequence");
    event.timeMs = map.i64("timeMs");
    event.kind = map.named("kind", kKinds);
    event.service = map.text("service");
    event.worker = map.text("worker");
    event.text = map.text("text");
    event.count = map.u64("count");
    return event;
}

template <typename T, typename ReadOne>
QVector<T> readRows(const MapReader& map, std::string_view key, ReadOne readOne)
{
    const auto& items = map.array(key);
    QVector<T> rows;
    rows.reserve(static_cast<qsizetype>(items.size));
    for (std::uint32_t i = 0; i < items.size; ++i) {
        rows.push_back(
            readOne(MapReader(items.ptr[i], std::string(key) + "[" + std::to_string(i) + "]")));
    }
    return rows;
}

} // namespace

std::string encode(const BrokerSnapshot& snapshot)
{
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_map(15);
    packKey(packer, "sequence");
    packer.pack(snapshot.sequence);
    packKey(packer, "timeMs");
    packer.pack(snapshot.timeMs);
    packKey(packer, "uptimeMs");
    packer.pack(snapshot.uptimeMs);
    packKey(packer, "version");
    packText(packer, snapshot.version);
    packKey(packer, "frontendEndpoints");
    packTexts(packer, snapshot.frontendEndpoints);
    packKey(packer, "backendEndpoints");
    packTexts(packer, snapshot.backendEndpoints);
    packKey(packer, "adminEndpoints");
    packTexts(packer, snapshot.adminEndpoints);
    packKey(packer, "heartbeatIntervalMs");
    packer.pack(snapshot.heartbeatIntervalMs);
    packKey(packer, "liveness");
    packer.pack(snapshot.liveness);
    packKey(packer, "totals");
    packTotals(packer, snapshot.totals);
    packKey(packer, "intake");
    packIntake(packer, snapshot.intake);
    packKey(packer, "services");
    packRows(packer, snapshot.services, packService);
    packKey(packer, "methods");
    packRows(packer, snapshot.methods, packMethod);
    packKey(packer, "workers");
    packRows(packer, snapshot.workers, packWorker);
    packKey(packer, "events");
    packRows(packer, snapshot.events, packEvent);
    return std::string(buffer.data(), buffer.size());
}

BrokerSnapshot decode(std::string_view bytes)
{
    return decode(zmq::message_t(bytes.data(), bytes.size()));
}

BrokerSnapshot decode(const zmq::message_t& frame)
{
    // unpackPayload walks the bytes before unpacking, so a forged array header cannot make
    // msgpack reserve gigabytes (see protocol/src/envelope.cpp).
    const msgpack::object_handle handle = rpc::unpackPayload(frame, "snapshot");
    const MapReader map(handle.get(), "snapshot");
    BrokerSnapshot snapshot;
    snapshot.sequence = map.u64("sequence");
    snapshot.timeMs = map.i64("timeMs");
    snapshot.uptimeMs = map.i64("uptimeMs");
    snapshot.version = map.text("version");
    snapshot.frontendEndpoints = map.texts("frontendEndpoints");
    snapshot.backendEndpoints = map.texts("backendEndpoints");
    snapshot.adminEndpoints = map.texts("adminEndpoints");
    snapshot.heartbeatIntervalMs = map.i64("heartbeatIntervalMs");
    snapshot.liveness = map.i32("liveness");
    snapshot.totals = readTotals(MapReader(map.get("totals"), "totals"));
    snapshot.intake = readIntake(MapReader(map.get("intake"), "intake"));
    snapshot.services = readRows<ServiceStats>(map, "services", readService);
    snapshot.methods = readRows<MethodStats>(map, "methods", readMethod);
    snapshot.workers = readRows<WorkerStats>(map, "workers", readWorker);
    snapshot.events = readRows<BrokerEvent>(map, "events", readEvent);
    return snapshot;
}

} // namespace switchboard::snapshotcodec
