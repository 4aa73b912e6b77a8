// RoutingCore: what arrives from clients. A message is read once (ClientRequest) and then either
// answered by the broker (MMI, malformed, refused) or accepted for a service: handed to an idle
// worker at once, or queued.

#include <switchboard/routing/routingcore.h>

#include <algorithm>

namespace switchboard {

void RoutingCore::onClientMessage(Frames& frames, TimePoint now)
{
    if (m_shutDown) {
        return;
    }
    m_now = now;
    ++m_counters.clientMessages;
    ClientRequest request;
    try {
        request = ClientRequest::read(frames);
    } catch (const ProtocolError& error) {
        onMalformedClientMessage(frames, error, now);
        return;
    }
    if (!request.isMmi()) {
        // Before the request is counted: every client message lands in one intake bucket.
        try {
            request.readOptions(frames);
        } catch (const ProtocolError& error) {
            countMalformed(error, false, ClientRequest::client(frames), request.service(frames),
                           now);
            replyError(ClientRequest::client(frames), request.version(), request.service(frames),
                       request.requestId(frames), rpc::errortype::kMalformedRequest, error.what(),
                       HeldReplies::Kind::Refusal);
            return;
        }
    }
    ++m_counters.requestsReceived;
    const bool admitted = m_held.empty() || admitFromClient(frames, request, now);
    if (!admitted || request.isMmi()) {
        // Counted in the broker's request rate, but in no service's.
        (void)m_observer.requestReceived(nullptr, {}, now);
        if (admitted) {
            answerMmi(frames, request);
        }
        return;
    }
    acceptRequest(serviceNamed(request.service(frames), now), frames, request, now);
    settle(now);
}

void RoutingCore::onMalformedClientMessage(Frames& frames, const ProtocolError& error,
                                           TimePoint now)
{
    const auto peer = frames.empty() ? std::string_view{} : frameView(frames[0]);
    // Both versions put the service name at frame 3 (after the identity).
    const auto service = frames.size() > 3 ? frameView(frames[3]) : std::string_view{};
    const bool serviceOk = error.kind() != ProtocolErrorKind::InvalidServiceName;
    // The event log keys floods by service: only a name that could be one may serve as key.
    countMalformed(error, false, peer,
                   serviceOk && mdp::isValidServiceName(service) ? service : std::string_view{},
                   now);
    const auto version = mdp::clientVersionOf(frames, 1);
    if (!version) {
        return; // not MDP at all: there is no way to answer
    }
    replyError(peer, *version, serviceOk ? service : std::string_view{}, {},
               rpc::errortype::kMalformedRequest, error.what(), HeldReplies::Kind::Refusal);
}

bool RoutingCore::admitFromClient(const Frames& frames, const ClientRequest& request, TimePoint now)
{
    const auto client = ClientRequest::client(frames);
    const HeldReplies::Decision decision = m_held.admit(client);
    using Admission = HeldReplies::Admission;
    if (decision.admission == Admission::Accept) {
        return true;
    }
    if (decision.newlyAtBound) {
        m_observer.clientAtBound(client, decision.clientBytes, now);
    }
    if (decision.admission == Admission::Discard) {
        // Its refusals alone fill a bound: nothing more can be kept for it.
        ++m_counters.requestsDiscarded;
        m_observer.requestDiscarded(client, decision.clientBytes, now);
        return false;
    }
    ++m_counters.queueFull;
    ++m_counters.refusedUnread;
    const HeldReplies::Limits& limits = m_held.limits();
    std::string text =
        decision.admission == Admission::RefuseClient
            ? "this client has " + std::to_string(decision.clientBytes) +
                  " bytes of answers it has not read (--max-held-per-client " +
                  std::to_string(limits.perClientBytes) + "): read them before sending more"
            : "clients that do not read hold " + std::to_string(m_held.bytes()) +
                  " bytes of answers in the broker (--max-held-bytes " +
                  std::to_string(limits.totalBytes) + "), " + std::to_string(decision.clientBytes) +
                  " of them this client's: read them before sending more";
    replyError(client, request.version(), request.service(frames), request.requestId(frames),
               rpc::errortype::kQueueFull, std::move(text), HeldReplies::Kind::Refusal);
    return false;
}

void RoutingCore::answerMmi(Frames& frames, const ClientRequest& request)
{
    ++m_counters.mmiRequests;
    const auto service = request.service(frames);
    m_out.clear();
    m_out.push_back(std::move(frames[0]));
    mdp::appendClientHeader(m_out, request.version(), mdp::finalCommand(request.version()));
    m_out.emplace_back(service.data(), service.size());
    m_mmi.answer(service, frames, request.bodyBegin(), m_out);
    deliverToClient();
}

Service& RoutingCore::serviceNamed(std::string_view name, TimePoint now)
{
    auto [service, created] = m_services.findOrCreate(name);
    if (created) {
        service.setMeter(m_observer.serviceAdded(name, now));
    }
    return service;
}

void RoutingCore::acceptRequest(Service& service, Frames& frames, const ClientRequest& request,
                                TimePoint now)
{
    const rpc::RequestOptions& options = request.options();
    RequestTerms terms;
    terms.receivedAt = now;
    terms.deadline =
        now + (options.timeoutMs ? std::min(m_config.requestTimeout,
                                            std::chrono::milliseconds(*options.timeoutMs))
                                 : m_config.requestTimeout);
    terms.idempotent = options.idempotent;
    terms.meter = m_observer.requestReceived(
        &service, m_config.statistics ? request.method(frames) : std::string_view{}, now);
    while (RegisteredWorker* worker = service.idleWorkers().popFront()) {
        if (dispatch(*worker, frames, request, terms, now)) {
            if (worker->hasCapacity()) {
                service.idleWorkers().pushBack(*worker);
            }
            return;
        }
        purgeWorker(*worker, WorkerLoss::ConnectionClosed, now);
    }
    const auto refuse = [&](std::string why) {
        ++m_counters.queueFull;
        m_observer.requestFailed(service, terms.meter, RequestFailure::QueueFull, {}, now);
        replyError(ClientRequest::client(frames), request.version(), service.name(),
                   request.requestId(frames), rpc::errortype::kQueueFull, std::move(why));
    };
    if (service.queued() >= m_config.maxQueuePerService) {
        refuse("service '" + service.name() + "' already has " + std::to_string(service.queued()) +
               " requests waiting (--max-queue)");
        return;
    }
    std::size_t bytes = 0;
    for (const zmq::message_t& frame : frames) {
        bytes += frame.size();
    }
    if (m_services.queued().bytes + bytes > m_config.maxQueuedBytes) {
        refuse("the broker already holds " + std::to_string(m_services.queued().bytes) +
               " bytes of waiting requests, and this one has " + std::to_string(bytes) +
               " (--max-queued-bytes)");
        return;
    }
    // Packed while it waits (about its bytes, not a zmq_msg_t per frame nor the receive buffer
    // its frames point into). Not the vector: that is the socket's receive buffer.
    service.enqueue({{}, request, terms, bytes, PackedFrames(frames)});
    m_nextExpiry = std::min(m_nextExpiry, terms.deadline);
}

} // namespace switchboard
