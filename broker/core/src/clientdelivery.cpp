// RoutingCore: what goes to clients. Every answer goes through deliverToClient(), which keeps it
// (HeldReplies) when the client is not reading instead of letting the socket drop it; errors the
// broker makes itself are built by replyError().

#include <switchboard/routing/routingcore.h>

#include <switchboard/protocol/envelope.h>

namespace switchboard {

void RoutingCore::replyError(std::string_view client, mdp::Version version,
                             std::string_view service, std::string_view requestId,
                             std::string_view type, std::string message, HeldReplies::Kind kind)
{
    if (kind == HeldReplies::Kind::Refusal && !m_held.empty() && m_held.isPastHardBound(client)) {
        ++m_counters.requestsDiscarded; // it reads nothing, and its errors would pile up
        return;
    }
    ++m_counters.brokerErrors;
    m_out.clear();
    m_out.emplace_back(client.data(), client.size());
    mdp::appendClientHeader(m_out, version, mdp::finalCommand(version));
    m_out.emplace_back(service.data(), service.size());
    rpc::appendErrorReply(m_out, requestId, {std::string(type), std::move(message), {}});
    deliverToClient(kind);
}

void RoutingCore::deliverToClient(HeldReplies::Kind kind)
{
    // Behind the answers already held for this client, never before them.
    if (!m_held.empty() && m_held.isHolding(frameView(m_out.front()))) {
        holdReply(kind);
        return;
    }
    switch (m_outbox.sendToClient(m_out)) {
    case Delivery::Sent:
        return;
    case Delivery::WouldBlock:
        holdReply(kind);
        return;
    case Delivery::Gone:
        ++m_counters.clientUnreachable;
        return;
    }
}

void RoutingCore::holdReply(HeldReplies::Kind kind)
{
    ++m_counters.repliesHeld;
    // Copied before the frames move into the store: the observer is told after it took them.
    const std::string client(frameView(m_out.front()));
    if (m_held.hold(std::move(m_out), kind)) {
        m_observer.clientNotReading(client, m_now);
    }
    m_out = Frames{};
    m_nextHeldRetry = std::min(m_nextHeldRetry, m_now + kHeldRetryInterval);
}

void RoutingCore::onClientsReading(TimePoint now)
{
    if (m_held.empty()) {
        return;
    }
    if (now < m_nextHeldSweep) {
        m_nextHeldRetry = std::min(m_nextHeldRetry, m_nextHeldSweep);
        return;
    }
    flushHeldReplies(now);
}

void RoutingCore::flushHeldReplies(TimePoint now)
{
    m_nextHeldRetry = TimePoint::max();
    if (m_held.empty()) {
        return;
    }
    m_nextHeldSweep = now + kHeldSweepSpacing;
    const HeldReplies::FlushReport report =
        m_held.flush([this](Frames& frames) { return m_outbox.sendToClient(frames); });
    m_counters.heldRepliesDelivered += report.delivered;
    countDropped(report.released, HeldDrop::ClientGone, now);
    if (!m_held.empty()) {
        m_nextHeldRetry = now + kHeldRetryInterval;
    }
}

void RoutingCore::countDropped(const std::vector<HeldReplies::Released>& released, HeldDrop why,
                               TimePoint now)
{
    for (const HeldReplies::Released& client : released) {
        m_counters.heldRepliesReleased += client.replies;
        m_observer.heldRepliesDropped(client.client, client.replies, client.bytes, why, now);
    }
}

void RoutingCore::countMalformed(const ProtocolError& error, bool fromWorker, std::string_view peer,
                                 std::string_view service, TimePoint now)
{
    ++(fromWorker ? m_counters.malformedFromWorkers : m_counters.malformedFromClients);
    const auto kind = static_cast<std::size_t>(error.kind());
    ++m_counters.malformedByKind[kind];
    if (fromWorker) {
        ++m_counters.malformedFromWorkersByKind[kind];
    }
    m_observer.malformed(error, fromWorker, peer, service, now);
}

} // namespace switchboard
