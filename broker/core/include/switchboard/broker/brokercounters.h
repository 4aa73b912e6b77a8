#pragma once

#include <switchboard/protocol/error.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace switchboard {

// Totals since the broker started. Cheap to copy; read them through Broker::counters().
struct BrokerCounters {
    std::uint64_t requestsReceived = 0;   // well-formed client requests
    std::uint64_t requestsDispatched = 0; // sent to a worker (a re-dispatch counts again)
    std::uint64_t repliesDelivered = 0;   // REPLY or FINAL sent to a client
    std::uint64_t partialsDelivered = 0;  // 18/MDP PARTIAL sent to a client
    std::uint64_t mmiRequests = 0;
    std::uint64_t queueFull = 0;         // answered QueueFull
    std::uint64_t expired = 0;           // answered Expired or ServiceUnavailable
    std::uint64_t workerLost = 0;        // answered WorkerLost
    std::uint64_t requeued = 0;          // idempotent, its worker died: queued for another one
    std::uint64_t lateReplies = 0;       // answers from workers given up on, dropped
    std::uint64_t shutdownErrors = 0;    // answered BrokerShutdown
    std::uint64_t clientUnreachable = 0; // answers dropped at once: the client was gone
    // Answers for clients that do not read (BrokerConfig::maxHeldReplyBytesPerClient): each one
    // held is later delivered, released when its client turns out gone, or still held.
    std::uint64_t repliesHeld = 0;          // could not be sent at once: kept, in order
    std::uint64_t heldRepliesDelivered = 0; // of which sent once the client read
    std::uint64_t heldRepliesReleased = 0;  // of which dropped: the client was gone for good
    std::uint64_t refusedUnread = 0;        // answered QueueFull: its client held too much unread
    // Unanswered: its client sends without reading, and the refusals held for it alone fill its
    // bound (the error for a malformed message from it, too).
    std::uint64_t requestsDiscarded = 0;
    std::uint64_t brokerErrors = 0; // error replies the broker itself sent (all of the above)
    std::uint64_t workerErrors = 0; // error replies (status 0x01) from workers, delivered
    std::uint64_t workersRegistered = 0;
    std::uint64_t workersPurged = 0;       // silent for longer than the liveness allows
    std::uint64_t workersDisconnected = 0; // sent DISCONNECT for a protocol violation
    std::uint64_t workersEvicted = 0;      // by an operator (Broker::evictWorker)
    std::uint64_t malformedFromClients = 0;
    std::uint64_t malformedFromWorkers = 0;
    using MalformedByKind =
        std::array<std::uint64_t, static_cast<std::size_t>(ProtocolErrorKind::Count)>;
    MalformedByKind malformedByKind{};            // from clients and workers
    MalformedByKind malformedFromWorkersByKind{}; // of which from workers; the rest from clients
    std::uint64_t adminRequests = 0;              // messages on the admin endpoint
    std::uint64_t adminMalformed = 0;             // of which refused with an error
    // CURVE: connections whose key is not authorized (or that offered no CURVE credentials to
    // the ZAP handler), and connections closed before their handshake was done (a peer without
    // CURVE, or with the wrong server key, but also one that gave up, such as the endpoint
    // check a Worker makes when it is constructed).
    std::uint64_t curveRefused = 0;
    std::uint64_t curveHandshakesFailed = 0;

    // Every message read from the frontend or backend lands in exactly one bucket, so that no
    // message is dropped uncounted (MessageIntake, docs/RELIABILITY.md "Hostile input").
    // Frontend: clientMessages = requestsReceived + malformedFromClients.
    std::uint64_t clientMessages = 0;
    // Backend: workerMessages = malformedFromWorkers + workersRegistered + workerHeartbeats +
    // workerAnswers + workerDeclines + workersLeft + workerMessagesRefused +
    // workerMessagesIgnored.
    std::uint64_t workerMessages = 0;
    std::uint64_t workerHeartbeats = 0;      // HEARTBEAT from a registered worker
    std::uint64_t workerAnswers = 0;         // REPLY, PARTIAL or FINAL for a request it held
    std::uint64_t workerDeclines = 0;        // DECLINE of a request it held: queued again
    std::uint64_t workersLeft = 0;           // DISCONNECT from a registered worker
    std::uint64_t workerMessagesRefused = 0; // well-formed, not allowed in that state: DISCONNECT
    std::uint64_t workerMessagesIgnored = 0; // DISCONNECT from a worker the broker did not know

    // Current state rather than totals.
    std::size_t workers = 0;
    std::size_t services = 0;
    std::size_t queuedRequests = 0;
    std::size_t requestsInFlight = 0;
    std::size_t heldReplies = 0;    // answers waiting for their clients to read
    std::size_t heldReplyBytes = 0; // their bytes, bookkeeping included
    std::size_t slowClients = 0;    // clients with answers held
    std::size_t clientsAtBound = 0; // of which getting QueueFull for new requests

    std::uint64_t malformedTotal() const { return malformedFromClients + malformedFromWorkers; }
};

} // namespace switchboard
