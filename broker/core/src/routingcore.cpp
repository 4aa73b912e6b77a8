// RoutingCore: time (heartbeats, expiry, held retries), connections that close, eviction,
// shutdown and the counters.

#include <switchboard/routing/routingcore.h>

#include <switchboard/protocol/printableidentity.h>

#include <algorithm>

namespace switchboard {

RoutingCore::RoutingCore(RoutingConfig config, Outbox& outbox, RoutingObserver& observer,
                         TimePoint now)
    : m_config(config)
    , m_outbox(outbox)
    , m_observer(observer)
    , m_held({config.maxHeldReplyBytesPerClient, config.maxHeldReplyBytes})
    , m_now(now)
    , m_nextHeartbeat(now + config.heartbeatInterval)
{}

RoutingCore::TimePoint RoutingCore::nextDeadline() const noexcept
{
    return std::min({m_nextHeartbeat, m_nextExpiry, m_nextHeldRetry});
}

RoutingCore::TimePoint RoutingCore::tick(TimePoint now)
{
    if (m_shutDown) {
        return TimePoint::max();
    }
    m_now = now;
    if (now >= m_nextHeldRetry) {
        flushHeldReplies(now);
    }
    if (now >= m_nextExpiry) {
        expireQueued(now);
    }
    if (now >= m_nextHeartbeat) {
        heartbeatWorkers(now);
        // On the beat when on time; a late round (a stalled loop) does not make up for the
        // rounds it missed.
        m_nextHeartbeat += m_config.heartbeatInterval;
        if (m_nextHeartbeat <= now) {
            m_nextHeartbeat = now + m_config.heartbeatInterval;
        }
    }
    settle(now);
    return nextDeadline();
}

void RoutingCore::onConnectionClosed(int connection, TimePoint now)
{
    if (m_shutDown || connection < 0) {
        return;
    }
    m_now = now;
    for (RegisteredWorker* worker : m_workers.onConnection(connection)) {
        purgeWorker(*worker, WorkerLoss::ConnectionClosed, now);
    }
    settle(now);
}

std::optional<std::size_t> RoutingCore::evict(std::string_view identity, TimePoint now)
{
    RegisteredWorker* worker = m_shutDown ? nullptr : m_workers.find(identity);
    if (!worker) {
        return std::nullopt;
    }
    m_now = now;
    const std::size_t held = worker->inFlight().size();
    ++m_counters.workersEvicted;
    m_observer.workerEvicted(*worker, now);
    sendWorkerCommand(worker->identity(), worker->version(), mdp::WorkerCommand::Disconnect);
    removeWorker(*worker, RequestFailure::WorkerLost,
                 "worker " + printableIdentity(identity) + " was evicted by an operator", now);
    settle(now);
    return held;
}

void RoutingCore::shutdown(TimePoint now)
{
    if (m_shutDown) {
        return;
    }
    m_shutDown = true;
    m_now = now;
    const std::string why = "the broker is shutting down";
    m_services.forEach([&](Service& service) {
        service.clearQueue([&](const QueuedRequest& request) {
            ++m_counters.shutdownErrors;
            m_observer.requestFailed(service, request.terms.meter, RequestFailure::Shutdown, {},
                                     now);
            replyError(ClientRequest::client(request.frames), request.request.version(),
                       service.name(), request.request.requestId(request.frames),
                       rpc::errortype::kBrokerShutdown, why);
        });
    });
    m_nextExpiry = TimePoint::max();
    while (!m_workers.empty()) {
        RegisteredWorker& worker = m_workers.any();
        sendWorkerCommand(worker.identity(), worker.version(), mdp::WorkerCommand::Disconnect);
        removeWorker(worker, RequestFailure::Shutdown, why, now);
    }
    m_services.forgetUnused(
        [&](const Service& service) { m_observer.serviceRemoved(service.meter()); });
    // A last chance for clients that do not read; what they still cannot take goes with the
    // broker.
    flushHeldReplies(now);
    countDropped(m_held.releaseAll(), HeldDrop::BrokerShutdown, now);
    m_nextHeldRetry = TimePoint::max();
    m_nextHeartbeat = TimePoint::max();
}

BrokerCounters RoutingCore::counters() const
{
    BrokerCounters counters = m_counters;
    counters.workers = m_workers.size();
    counters.services = m_services.size();
    counters.queuedRequests = m_services.queued().requests;
    counters.requestsInFlight = m_inFlight;
    counters.heldReplies = m_held.replies();
    counters.heldReplyBytes = m_held.bytes();
    counters.slowClients = m_held.clients();
    counters.clientsAtBound = m_held.clientsAtBound();
    return counters;
}

} // namespace switchboard
