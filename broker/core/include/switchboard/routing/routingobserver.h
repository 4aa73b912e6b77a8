#pragma once

#include <switchboard/protocol/error.h>
#include <switchboard/protocol/mdp.h>

#include <chrono>
#include <cstddef>
#include <string_view>

namespace switchboard {

class RegisteredWorker;
class Service;

// Where the observer keeps the statistics of a service or a method. The core stores the pointer
// the observer gave it and hands it back with every later event of that service or request; it
// never looks inside. The broker's meters derive from it.
class MeterSlot {
protected:
    ~MeterSlot() = default;
};

// Why the broker itself ended a request with an error.
enum class RequestFailure {
    QueueFull,  // the service's queue or the broker's queued bytes were full
    Expired,    // no worker took it before its deadline
    WorkerLost, // its worker went away and it could not run again
    Shutdown,   // the broker shut down
};

// Why a worker is purged without having said DISCONNECT.
enum class WorkerLoss {
    Silent,           // no message within heartbeatInterval * liveness
    ConnectionClosed, // its connection closed, or a send found it gone
};

// Why answers held for a client were dropped.
enum class HeldDrop {
    ClientGone,     // the client disconnected
    BrokerShutdown, // the broker shut down before the client read them
};

// Everything the routing core does that an operator or the statistics may want to know, as typed
// events with the time they happened. One call per event, on the routing thread; the default
// implementations ignore everything, so a test overrides only what it checks. Workers passed by
// reference are still registered (their in-flight requests not yet answered) during the call.
class RoutingObserver {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // -- Statistics
    // A service appears; the slot its requests are counted in, or null for none.
    virtual MeterSlot* serviceAdded(std::string_view /*name*/, TimePoint /*now*/)
    {
        return nullptr;
    }
    // A service no worker and no request refers to any more is forgotten.
    virtual void serviceRemoved(MeterSlot* /*service*/) {}
    // A well-formed request was received: `service` is null for MMI. Returns the slot of its
    // method (asked only with RoutingConfig::statistics), handed back when it ends.
    virtual MeterSlot* requestReceived(const Service* /*service*/, std::string_view /*method*/,
                                       TimePoint /*now*/)
    {
        return nullptr;
    }
    // A worker's final answer went to the client (or StreamingUnsupported did: `error`).
    virtual void requestAnswered(const Service& /*service*/, MeterSlot* /*method*/,
                                 std::chrono::steady_clock::duration /*queueWait*/,
                                 std::chrono::steady_clock::duration /*serviceTime*/,
                                 bool /*error*/, TimePoint /*now*/)
    {}
    // The broker answered the request with an error of its own. For Expired, `waited` is how
    // long it was allowed to wait.
    virtual void requestFailed(const Service& /*service*/, MeterSlot* /*method*/,
                               RequestFailure /*why*/, std::chrono::milliseconds /*waited*/,
                               TimePoint /*now*/)
    {}

    // -- Workers
    virtual void workerJoined(const RegisteredWorker& /*worker*/, TimePoint /*now*/) {}
    // It said DISCONNECT.
    virtual void workerLeft(const RegisteredWorker& /*worker*/, TimePoint /*now*/) {}
    virtual void workerPurged(const RegisteredWorker& /*worker*/, WorkerLoss /*why*/,
                              TimePoint /*now*/)
    {}
    virtual void workerEvicted(const RegisteredWorker& /*worker*/, TimePoint /*now*/) {}
    // A registered worker broke the protocol and was sent DISCONNECT.
    virtual void workerViolated(const RegisteredWorker& /*worker*/, std::string_view /*why*/,
                                TimePoint /*now*/)
    {}
    // A worker the broker does not know sent `command` (a late answer, or a message without
    // READY) and was sent DISCONNECT.
    virtual void strangerRefused(std::string_view /*identity*/, mdp::WorkerCommand /*command*/,
                                 TimePoint /*now*/)
    {}
    // A worker asked to serve a service reserved for the broker (mmi.*).
    virtual void reservedServiceRefused(std::string_view /*identity*/, std::string_view /*service*/,
                                        TimePoint /*now*/)
    {}

    // -- Input
    // A message that is not valid MDP (or whose envelope is malformed) was dropped or refused.
    // `service` is a valid service name or empty.
    virtual void malformed(const ProtocolError& /*error*/, bool /*fromWorker*/,
                           std::string_view /*peer*/, std::string_view /*service*/,
                           TimePoint /*now*/)
    {}

    // -- Clients that do not read
    // A client's pipe was full: its answers are held from now on.
    virtual void clientNotReading(std::string_view /*client*/, TimePoint /*now*/) {}
    // A client reached its bound of unread answers: its new requests are refused.
    virtual void clientAtBound(std::string_view /*client*/, std::size_t /*bytes*/,
                               TimePoint /*now*/)
    {}
    // A request of a client at its bound was discarded unanswered.
    virtual void requestDiscarded(std::string_view /*client*/, std::size_t /*bytes*/,
                                  TimePoint /*now*/)
    {}
    virtual void heldRepliesDropped(std::string_view /*client*/, std::size_t /*replies*/,
                                    std::size_t /*bytes*/, HeldDrop /*why*/, TimePoint /*now*/)
    {}

protected:
    ~RoutingObserver() = default;
};

} // namespace switchboard
