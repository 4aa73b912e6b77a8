// RoutingCore: requests meet workers. Dispatch to the least recently used idle worker, requeue
// of idempotent requests whose worker died, the heartbeat round and the expiry of queued
// requests.

#include <switchboard/routing/routingcore.h>

#include "taggedaddress.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace switchboard {

bool RoutingCore::dispatch(RegisteredWorker& worker, Frames& frames, const ClientRequest& request,
                           const RequestTerms& terms, TimePoint now)
{
    auto& held = worker.inFlight();
    InFlightRequest& inFlight = held.emplace_back();
    inFlight.clientIdentity = ClientRequest::client(frames);
    inFlight.requestId = request.requestId(frames);
    inFlight.request = request;
    inFlight.tag = worker.credited() ? worker.nextTag() : 0;
    inFlight.dispatchedAt = now;
    inFlight.terms = terms;
    ++inFlight.terms.attempts;
    if (terms.meter) {
        inFlight.method.assign(request.method(frames));
    }
    if (worker.credited() || (terms.idempotent && inFlight.terms.attempts < m_config.maxAttempts)) {
        // Copies share the buffers of all but the smallest frames: this costs a reference
        // count per frame, not the body.
        // A worker with credit pays this for every request, since any may come back with
        // DECLINE; measured at no visible cost (docs/PERFORMANCE.md, issue 14).
        inFlight.retained.resize(frames.size());
        for (std::size_t i = 0; i < frames.size(); ++i) {
            inFlight.retained[i].copy(frames[i]);
        }
    }

    m_out.clear();
    m_out.emplace_back(worker.identity().data(), worker.identity().size());
    mdp::appendWorkerHeader(m_out, worker.version(), mdp::WorkerCommand::Request);
    const std::size_t clientAt = m_out.size();
    if (worker.credited()) {
        m_out.push_back(taggedaddress::make(inFlight.clientIdentity, inFlight.tag));
    } else {
        m_out.push_back(std::move(frames[0]));
    }
    m_out.emplace_back();
    const std::size_t bodyBegin = request.bodyBegin();
    for (std::size_t i = bodyBegin; i < frames.size(); ++i) {
        m_out.push_back(std::move(frames[i]));
    }
    if (m_outbox.sendToWorker(m_out) != Delivery::Sent) {
        // Nothing left: put the frames back where they came from for the next worker.
        if (!worker.credited()) {
            frames[0] = std::move(m_out[clientAt]);
        }
        for (std::size_t i = bodyBegin, j = clientAt + 2; i < frames.size(); ++i, ++j) {
            frames[i] = std::move(m_out[j]);
        }
        held.pop_back();
        return false;
    }
    ++m_inFlight;
    ++m_counters.requestsDispatched;
    return true;
}

void RoutingCore::makeAvailable(RegisteredWorker& worker, TimePoint now)
{
    Service& service = worker.service();
    while (worker.hasCapacity() && service.hasQueued()) {
        QueuedRequest& next = service.front();
        if (next.terms.deadline <= now) {
            // The expiry pass has not come round to it yet: answered, never dispatched.
            answerExpired(service, next, now);
        } else if (!dispatch(worker, next.frames, next.request, next.terms, now)) {
            purgeWorker(worker, WorkerLoss::ConnectionClosed, now);
            return;
        }
        service.popFront();
    }
    if (worker.hasCapacity()) {
        service.idleWorkers().pushBack(worker);
    }
}

bool RoutingCore::requeue(Service& service, InFlightRequest& request, TimePoint now)
{
    // A worker with credit has every request retained, for DECLINE: whether it may run again
    // after a death is still the client's call.
    if (!request.terms.idempotent || request.terms.attempts >= m_config.maxAttempts ||
        request.retained.empty() || request.partialSent || request.streamRejected ||
        request.terms.deadline <= now) {
        return false;
    }
    queueAgain(service, request);
    ++m_counters.requeued;
    return true;
}

void RoutingCore::queueAgain(Service& service, InFlightRequest& request)
{
    std::size_t bytes = 0;
    for (const zmq::message_t& frame : request.retained) {
        bytes += frame.size();
    }
    // Accepted before, so the queue bounds do not apply: refusing now would turn a request the
    // client was promised into a QueueFull it has no reason to expect.
    service.requeueFront({std::move(request.retained), request.request, request.terms, bytes});
    m_requeued = true;
    m_nextExpiry = std::min(m_nextExpiry, request.terms.deadline);
}

void RoutingCore::settle(TimePoint now)
{
    while (m_requeued) {
        m_requeued = false;
        m_services.forEach([&](Service& service) {
            while (service.hasQueued()) {
                RegisteredWorker* worker = service.idleWorkers().popFront();
                if (!worker) {
                    break;
                }
                makeAvailable(*worker, now);
            }
        });
    }
    if (m_sweepNeeded) {
        m_sweepNeeded = false;
        m_services.forgetUnused(
            [&](const Service& service) { m_observer.serviceRemoved(service.meter()); });
    }
}

void RoutingCore::heartbeatWorkers(TimePoint now)
{
    std::vector<std::pair<RegisteredWorker*, WorkerLoss>> lost;
    m_workers.forEach([&](RegisteredWorker& worker) {
        if (worker.expiry() <= now) {
            lost.emplace_back(&worker, WorkerLoss::Silent);
        } else if (sendWorkerCommand(worker.identity(), worker.version(),
                                     mdp::WorkerCommand::Heartbeat) == Delivery::Gone) {
            // Its connection is gone (process died, socket closed): no need to wait out the
            // liveness. A full pipe (WouldBlock) is not a reason: liveness decides then.
            lost.emplace_back(&worker, WorkerLoss::ConnectionClosed);
        }
    });
    for (auto [worker, why] : lost) {
        purgeWorker(*worker, why, now);
    }
    m_workers.pruneExpired(now);
}

void RoutingCore::expireQueued(TimePoint now)
{
    auto next = TimePoint::max();
    m_services.forEach([&](Service& service) {
        next = std::min(next, service.removeExpired(now, [&](const QueuedRequest& request) {
            answerExpired(service, request, now);
        }));
    });
    m_nextExpiry = next == TimePoint::max() ? next : std::max(next, now + kExpiryCoalescing);
}

void RoutingCore::answerExpired(Service& service, const QueuedRequest& request, TimePoint now)
{
    ++m_counters.expired;
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        request.terms.deadline - request.terms.receivedAt);
    m_observer.requestFailed(service, request.terms.meter, RequestFailure::Expired, waited, now);
    const std::string waitedMs = std::to_string(waited.count());
    const auto client = ClientRequest::client(request.frames);
    const auto requestId = request.request.requestId(request.frames);
    if (service.workerCount() == 0) {
        replyError(client, request.request.version(), service.name(), requestId,
                   rpc::errortype::kServiceUnavailable,
                   "no worker for service '" + service.name() + "' within " + waitedMs + " ms");
    } else {
        replyError(client, request.request.version(), service.name(), requestId,
                   rpc::errortype::kExpired,
                   "all " + std::to_string(service.workerCount()) + " workers of service '" +
                       service.name() + "' stayed busy for " + waitedMs + " ms");
    }
    m_sweepNeeded = true;
}

} // namespace switchboard
