#pragma once

#include <switchboard/broker/brokercounters.h>
#include <switchboard/routing/clientrequest.h>
#include <switchboard/routing/heldreplies.h>
#include <switchboard/routing/mmiresponder.h>
#include <switchboard/routing/outbox.h>
#include <switchboard/routing/routingconfig.h>
#include <switchboard/routing/routingobserver.h>
#include <switchboard/routing/serviceregistry.h>
#include <switchboard/routing/workerregistry.h>

#include <switchboard/protocol/frames.h>
#include <switchboard/protocol/mdp.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

// The Majordomo routing rules (7/MDP and 18/MDP, docs/PROTOCOL.md) with no sockets, no event
// loop and no clock of its own: every input comes with the time it happened, messages go out
// through an Outbox, and what happened is told to a RoutingObserver. The broker's Qt shell feeds
// it from its sockets and one timer; tests feed it directly with a fake outbox and a made-up
// clock.
//
// Every request ends exactly once: in the worker's answer or in an error that says why
// (QueueFull, Expired, ServiceUnavailable, WorkerLost, BrokerShutdown, MalformedRequest). The
// rules for each input live in their own file: clientintake.cpp, workerintake.cpp,
// dispatch.cpp, clientdelivery.cpp, and routingcore.cpp for time, eviction and shutdown.
class RoutingCore {
public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;

    RoutingCore(RoutingConfig config, Outbox& outbox, RoutingObserver& observer, TimePoint now);
    RoutingCore(const RoutingCore&) = delete;
    RoutingCore& operator=(const RoutingCore&) = delete;

    // -- Inputs. Frames start with the peer's identity; what is routed on is moved out of them.
    void onClientMessage(Frames& frames, TimePoint now);
    void onWorkerMessage(Frames& frames, TimePoint now);
    // The connection a worker came on closed (the socket monitor said so): purged at once.
    void onConnectionClosed(int connection, TimePoint now);
    // A client may have read, making room on the client socket: answers held for clients that
    // did not read are retried (at most once a millisecond; tick() catches up on one skipped).
    void onClientsReading(TimePoint now);
    // Heartbeats and purges of silent workers, expiry of queued requests, retries of held
    // answers: whatever is due at `now`. Returns when it is next due (nextDeadline()).
    TimePoint tick(TimePoint now);
    // The number of requests the worker held (re-dispatched or answered WorkerLost), or nullopt
    // when there is no such worker.
    std::optional<std::size_t> evict(std::string_view identity, TimePoint now);
    // Answers every queued and in-flight request BrokerShutdown, disconnects every worker and
    // gives held answers a last chance. Inputs are ignored from then on.
    void shutdown(TimePoint now);

    // -- State
    // When tick() has work next; Clock::time_point::max() for never.
    TimePoint nextDeadline() const noexcept;
    bool isShutDown() const noexcept { return m_shutDown; }
    // Totals since start, and the current workers, services, queued and in-flight requests and
    // held answers.
    BrokerCounters counters() const;
    const RoutingConfig& config() const noexcept { return m_config; }
    const ServiceRegistry& services() const noexcept { return m_services; }
    const WorkerRegistry& workers() const noexcept { return m_workers; }
    const HeldReplies& held() const noexcept { return m_held; }

    // Answers are retried this often while any are held for clients that do not read.
    static constexpr std::chrono::milliseconds kHeldRetryInterval{50};
    // ...and at most this often when the client socket wakes up (thousands of times a second
    // under load; a sweep costs a send per client with answers held).
    static constexpr std::chrono::milliseconds kHeldSweepSpacing{1};
    // An expiry pass answers the deadlines of the next few milliseconds too, so that a burst of
    // deadlines microseconds apart takes one pass, not one each.
    static constexpr std::chrono::milliseconds kExpiryCoalescing{5};

private:
    // clientintake.cpp
    void onMalformedClientMessage(Frames& frames, const ProtocolError& error, TimePoint now);
    bool admitFromClient(const Frames& frames, const ClientRequest& request, TimePoint now);
    void answerMmi(Frames& frames, const ClientRequest& request);
    void acceptRequest(Service& service, Frames& frames, const ClientRequest& request,
                       TimePoint now);
    Service& serviceNamed(std::string_view name, TimePoint now);

    // workerintake.cpp
    void onStrangerMessage(Frames& frames, const mdp::WorkerMessage& message, TimePoint now);
    void registerWorker(Frames& frames, const mdp::WorkerMessage& message, TimePoint now);
    void onWorkerAnswer(RegisteredWorker& worker, Frames& frames, const mdp::WorkerMessage& message,
                        TimePoint now);
    void onWorkerDecline(RegisteredWorker& worker, const Frames& frames,
                         const mdp::WorkerMessage& message, TimePoint now);
    void disconnectForViolation(RegisteredWorker& worker, std::string_view why, TimePoint now);
    Delivery sendWorkerCommand(std::string_view identity, mdp::Version version,
                               mdp::WorkerCommand command);
    // Answers what the worker held with `failure` (re-dispatching idempotent requests of a lost
    // worker), and forgets the worker.
    void removeWorker(RegisteredWorker& worker, RequestFailure failure, const std::string& why,
                      TimePoint now);
    // The same for a worker that went silent or lost its connection: it stays visible for a
    // while as an expired row.
    void purgeWorker(RegisteredWorker& worker, WorkerLoss why, TimePoint now);

    // dispatch.cpp
    // Hands the request to the worker; false (frames left in place) if the worker is gone.
    bool dispatch(RegisteredWorker& worker, Frames& frames, const ClientRequest& request,
                  const RequestTerms& terms, TimePoint now);
    // Gives the worker queued requests while it has capacity, then lists it as idle.
    void makeAvailable(RegisteredWorker& worker, TimePoint now);
    // Puts an idempotent request of a lost worker back at the front of its queue, if it has
    // attempts and time left; false if it must be answered WorkerLost instead.
    bool requeue(Service& service, InFlightRequest& request, TimePoint now);
    // Puts a request that left its worker (`retained` set) back at the front of its queue, for
    // settle() to hand out.
    void queueAgain(Service& service, InFlightRequest& request);
    // Hands re-queued requests to idle workers, and forgets services nothing refers to. Every
    // input ends here, where no loop holds a worker.
    void settle(TimePoint now);
    void heartbeatWorkers(TimePoint now);
    void expireQueued(TimePoint now);
    void answerExpired(Service& service, const QueuedRequest& request, TimePoint now);

    // clientdelivery.cpp
    // `kind` says whether the error ends accepted work (always kept for a client that does not
    // read) or refuses a request at intake (kept only within the client's bound: past it, the
    // error is discarded and counted).
    void replyError(std::string_view client, mdp::Version version, std::string_view service,
                    std::string_view requestId, std::string_view type, std::string message,
                    HeldReplies::Kind kind = HeldReplies::Kind::Answer);
    // Sends m_out (built for a client); holds it if the client is not reading.
    void deliverToClient(HeldReplies::Kind kind = HeldReplies::Kind::Answer);
    void holdReply(HeldReplies::Kind kind);
    void flushHeldReplies(TimePoint now);
    void countDropped(const std::vector<HeldReplies::Released>& released, HeldDrop why,
                      TimePoint now);
    void countMalformed(const ProtocolError& error, bool fromWorker, std::string_view peer,
                        std::string_view service, TimePoint now);

    RoutingConfig m_config;
    Outbox& m_outbox;
    RoutingObserver& m_observer;
    ServiceRegistry m_services;
    WorkerRegistry m_workers;
    MmiResponder m_mmi{m_services, m_workers};
    HeldReplies m_held;
    BrokerCounters m_counters;
    Frames m_out; // every outgoing message is built here, so sending allocates nothing
    std::size_t m_inFlight = 0;
    TimePoint m_now; // of the input being handled
    TimePoint m_nextHeartbeat;
    TimePoint m_nextExpiry = TimePoint::max();
    TimePoint m_nextHeldRetry = TimePoint::max();
    TimePoint m_nextHeldSweep;
    bool m_requeued = false; // settle() has requests to hand out
    bool m_sweepNeeded = false;
    bool m_shutDown = false;
};

} // namespace switchboard
