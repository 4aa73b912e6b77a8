// RoutingCore: what arrives from workers. RFC 7's worker dialog: READY registers, HEARTBEAT
// keeps alive, REPLY/PARTIAL/FINAL answer the request the worker holds, DISCONNECT leaves; with
// credit, DECLINE hands a request back (docs/PROTOCOL.md §11.2). Anything else, or anything from
// a worker the broker does not know, gets DISCONNECT.

#include <switchboard/routing/routingcore.h>

#include <switchboard/protocol/envelope.h>

#include "taggedaddress.h"

#include <algorithm>
#include <vector>

namespace switchboard {

namespace {

// An error reply from a worker: status byte 0x01 after the request id (docs/PROTOCOL.md §6).
// Peeked, never decoded, so counting errors costs nothing.
bool isErrorReply(const Frames& frames, std::size_t bodyBegin) noexcept
{
    if (bodyBegin + 1 >= frames.size()) {
        return false;
    }
    const auto status = frameView(frames[bodyBegin + 1]);
    return status.size() == 1 && status[0] == '\x01';
}

bool isAnswer(mdp::WorkerCommand command) noexcept
{
    return command == mdp::WorkerCommand::Reply || command == mdp::WorkerCommand::Partial ||
           command == mdp::WorkerCommand::Final;
}

// The request the worker holds under the client address it echoed: the identity for a plain
// worker, the identity and tag for one with credit.
std::vector<InFlightRequest>::iterator findHeld(RegisteredWorker& worker, std::string_view address)
{
    auto& held = worker.inFlight();
    if (!worker.credited()) {
        return std::find_if(held.begin(), held.end(),
                            [&](const InFlightRequest& r) { return r.clientIdentity == address; });
    }
    if (const auto parts = taggedaddress::split(address)) {
        return std::find_if(held.begin(), held.end(), [&](const InFlightRequest& r) {
            return r.tag == parts->tag && r.clientIdentity == parts->identity;
        });
    }
    return held.end();
}

// Order does not matter among the requests a worker holds: the last takes the freed place.
void release(std::vector<InFlightRequest>& held, std::vector<InFlightRequest>::iterator request)
{
    if (request != held.end() - 1) {
        *request = std::move(held.back());
    }
    held.pop_back();
}

} // namespace

void RoutingCore::onWorkerMessage(Frames& frames, TimePoint now)
{
    if (m_shutDown || frames.empty()) {
        return;
    }
    m_now = now;
    ++m_counters.workerMessages;
    const auto identity = frameView(frames[0]);
    RegisteredWorker* worker = m_workers.find(identity);
    mdp::WorkerMessage message;
    try {
        message = mdp::parseWorkerMessage(frames, 1);
    } catch (const ProtocolError& error) {
        countMalformed(error, true, identity,
                       worker ? std::string_view(worker->service().name()) : std::string_view{},
                       now);
        // RFC 7: drop invalid messages and treat the peer as invalid.
        if (worker) {
            disconnectForViolation(*worker, error.what(), now);
        } else if (error.kind() == ProtocolErrorKind::InvalidCredit) {
            // A READY with a credit this broker does not take: say so at once, so that the
            // worker can register again without it (docs/PROTOCOL.md §11.1).
            ++m_counters.workersDisconnected;
            sendWorkerCommand(identity,
                              frames.size() > 1 && frames[1].size() == 0 ? mdp::Version::V01
                                                                         : mdp::Version::V02,
                              mdp::WorkerCommand::Disconnect);
        }
        settle(now);
        return;
    }
    if (!worker) {
        onStrangerMessage(frames, message, now);
        settle(now);
        return;
    }
    if (message.version != worker->version()) {
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(*worker, "changed MDP version mid-session", now);
        settle(now);
        return;
    }
    worker->heard(now, now + m_config.heartbeatInterval * m_config.liveness);
    switch (message.command) {
    case mdp::WorkerCommand::Heartbeat:
        ++m_counters.workerHeartbeats;
        if (worker->closed()) {
            // It has room again (docs/PROTOCOL.md §11.2): the declined request, first in line,
            // may come straight back.
            worker->reopen();
            makeAvailable(*worker, now);
        }
        break;
    case mdp::WorkerCommand::Reply:
    case mdp::WorkerCommand::Partial:
    case mdp::WorkerCommand::Final:
        onWorkerAnswer(*worker, frames, message, now);
        break;
    case mdp::WorkerCommand::Disconnect:
        ++m_counters.workersLeft;
        m_observer.workerLeft(*worker, now);
        removeWorker(*worker, RequestFailure::WorkerLost, "worker disconnected before answering",
                     now);
        break;
    case mdp::WorkerCommand::Ready:
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(*worker, "sent READY twice", now);
        break;
    case mdp::WorkerCommand::Request:
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(*worker, "sent a REQUEST to the broker", now);
        break;
    case mdp::WorkerCommand::Decline:
        onWorkerDecline(*worker, frames, message, now);
        break;
    }
    settle(now);
}

void RoutingCore::onStrangerMessage(Frames& frames, const mdp::WorkerMessage& message,
                                    TimePoint now)
{
    const auto identity = frameView(frames[0]);
    switch (message.command) {
    case mdp::WorkerCommand::Ready:
        registerWorker(frames, message, now);
        return;
    case mdp::WorkerCommand::Disconnect:
        ++m_counters.workerMessagesIgnored; // nothing to forget
        return;
    default:
        break;
    }
    if (isAnswer(message.command)) {
        // A worker the broker gave up on (purged, evicted): the client already got WorkerLost,
        // or the request went to another worker. Delivering this too would answer it twice.
        ++m_counters.lateReplies;
    }
    // Valid but unexpected (a worker the broker purged, or one that never said READY): RFC 7
    // says DISCONNECT, and the worker will reconnect and register again.
    ++m_counters.workerMessagesRefused;
    ++m_counters.workersDisconnected;
    m_observer.strangerRefused(identity, message.command, now);
    sendWorkerCommand(identity, message.version, mdp::WorkerCommand::Disconnect);
}

void RoutingCore::registerWorker(Frames& frames, const mdp::WorkerMessage& message, TimePoint now)
{
    const auto identity = frameView(frames[0]);
    const auto serviceName = frameView(frames[message.serviceFrame]);
    if (MmiResponder::isMmi(serviceName)) {
        ++m_counters.workerMessagesRefused;
        ++m_counters.workersDisconnected;
        m_observer.reservedServiceRefused(identity, serviceName, now);
        sendWorkerCommand(identity, message.version, mdp::WorkerCommand::Disconnect);
        return;
    }
    // Asked before the worker exists: the outbox reports the connections that closed until now
    // first, so a later report for the same connection id (reused by the kernel) is surely about
    // this worker.
    PeerConnection connection = m_outbox.connectionOf(frames);
    Service& service = serviceNamed(serviceName, now);
    RegisteredWorker& worker = m_workers.add(identity, message.version, message.credit, service,
                                             std::move(connection), now);
    worker.heard(now, now + m_config.heartbeatInterval * m_config.liveness);
    service.addWorker();
    ++m_counters.workersRegistered;
    m_observer.workerJoined(worker, now);
    makeAvailable(worker, now);
}

void RoutingCore::onWorkerAnswer(RegisteredWorker& worker, Frames& frames,
                                 const mdp::WorkerMessage& message, TimePoint now)
{
    auto& held = worker.inFlight();
    const auto request = findHeld(worker, frameView(frames[message.clientFrame]));
    if (request == held.end()) {
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(worker,
                               held.empty() ? "answered without holding a request"
                                            : "answered a request it does not hold",
                               now);
        return;
    }
    ++m_counters.workerAnswers;
    const bool final = message.command != mdp::WorkerCommand::Partial;
    Service& service = worker.service();
    // Before the body frames move on.
    const bool errorReply = final && isErrorReply(frames, message.bodyBegin);
    const mdp::Version clientVersion = request->clientVersion();

    const std::string_view client = request->clientIdentity;
    if (clientVersion == mdp::Version::V01 && !final && !request->streamRejected) {
        // A 7/MDP client takes exactly one REPLY: say why it gets no stream, drop the rest.
        request->streamRejected = true;
        replyError(client, mdp::Version::V01, service.name(), request->requestId,
                   rpc::errortype::kStreamingUnsupported,
                   "the worker streamed its answer; a 7/MDP (MDPC01) client cannot receive a "
                   "stream, use an 18/MDP (MDPC02) client");
    } else if (!request->streamRejected) {
        m_out.clear();
        if (worker.credited()) {
            m_out.emplace_back(client.data(), client.size());
        } else {
            m_out.push_back(std::move(frames[message.clientFrame]));
        }
        mdp::appendClientHeader(m_out, clientVersion,
                                final ? mdp::finalCommand(clientVersion)
                                      : mdp::ClientCommand::Partial);
        m_out.emplace_back(service.name().data(), service.name().size());
        for (std::size_t i = message.bodyBegin; i < frames.size(); ++i) {
            m_out.push_back(std::move(frames[i]));
        }
        deliverToClient();
        ++(final ? m_counters.repliesDelivered : m_counters.partialsDelivered);
        request->partialSent = request->partialSent || !final;
        m_counters.workerErrors += errorReply ? 1 : 0;
    }
    if (!final) {
        return;
    }
    // What the client got: the worker's answer, or StreamingUnsupported.
    const bool error = errorReply || request->streamRejected;
    worker.countAnswer(error);
    m_observer.requestAnswered(service, request->terms.meter,
                               request->dispatchedAt - request->terms.receivedAt,
                               now - request->dispatchedAt, error, now);
    release(held, request);
    --m_inFlight;
    makeAvailable(worker, now);
}

void RoutingCore::onWorkerDecline(RegisteredWorker& worker, const Frames& frames,
                                  const mdp::WorkerMessage& message, TimePoint now)
{
    // Each refusal is that of an answer to a request the worker does not hold: the worker's view
    // of what it holds and the broker's have parted.
    auto& held = worker.inFlight();
    if (!worker.credited()) {
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(worker, "declined a request without the credit extension", now);
        return;
    }
    const auto request = findHeld(worker, frameView(frames[message.clientFrame]));
    if (request == held.end()) {
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(worker,
                               held.empty() ? "declined without holding a request"
                                            : "declined a request it does not hold",
                               now);
        return;
    }
    if (request->partialSent || request->streamRejected) {
        // The client has part of an answer, or was told it gets none: running the request again
        // elsewhere would repeat or contradict it.
        ++m_counters.workerMessagesRefused;
        disconnectForViolation(worker, "declined a request it had sent a PARTIAL for", now);
        return;
    }
    ++m_counters.workerDeclines;
    // It never started, so it keeps its deadline and the attempt is not counted.
    --request->terms.attempts;
    queueAgain(worker.service(), *request);
    release(held, request);
    --m_inFlight;
    worker.close();
    worker.service().idleWorkers().remove(worker);
}

void RoutingCore::disconnectForViolation(RegisteredWorker& worker, std::string_view why,
                                         TimePoint now)
{
    ++m_counters.workersDisconnected;
    m_observer.workerViolated(worker, why, now);
    sendWorkerCommand(worker.identity(), worker.version(), mdp::WorkerCommand::Disconnect);
    removeWorker(worker, RequestFailure::WorkerLost,
                 "worker was disconnected for a protocol violation: " + std::string(why), now);
}

Delivery RoutingCore::sendWorkerCommand(std::string_view identity, mdp::Version version,
                                        mdp::WorkerCommand command)
{
    m_out.clear();
    m_out.emplace_back(identity.data(), identity.size());
    mdp::appendWorkerHeader(m_out, version, command);
    return m_outbox.sendToWorker(m_out);
}

void RoutingCore::removeWorker(RegisteredWorker& worker, RequestFailure failure,
                               const std::string& why, TimePoint now)
{
    Service& service = worker.service();
    const bool lost = failure == RequestFailure::WorkerLost;
    const std::string_view errorType =
        lost ? rpc::errortype::kWorkerLost : rpc::errortype::kBrokerShutdown;
    for (InFlightRequest& request : worker.inFlight()) {
        --m_inFlight;
        if (lost && requeue(service, request, now)) {
            continue;
        }
        if (!request.streamRejected) {
            ++(lost ? m_counters.workerLost : m_counters.shutdownErrors);
            std::string text = why;
            if (lost && request.terms.idempotent) {
                text += request.partialSent ? "; not retried: part of the answer was delivered"
                        : request.terms.deadline <= now
                            ? "; not retried: its deadline passed"
                            : "; not retried: " + std::to_string(request.terms.attempts) +
                                  " attempts made (--max-attempts)";
            }
            replyError(request.clientIdentity, request.clientVersion(), service.name(),
                       request.requestId, errorType, std::move(text));
        }
        m_observer.requestFailed(service, request.terms.meter, failure, {}, now);
    }
    service.removeWorker(worker);
    m_workers.remove(worker); // `worker` is gone from here on
    m_sweepNeeded = true;
}

void RoutingCore::purgeWorker(RegisteredWorker& worker, WorkerLoss why, TimePoint now)
{
    ++m_counters.workersPurged;
    m_observer.workerPurged(worker, why, now);
    m_workers.rememberExpired(worker, now);
    removeWorker(worker, RequestFailure::WorkerLost,
                 why == WorkerLoss::Silent ? "worker stopped heartbeating and was purged"
                                           : "worker lost its connection and was purged",
                 now);
}

} // namespace switchboard
