#pragma once

#include <QStringList>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace switchboard {

// Everything an operator can tune, with the defaults of the `switchboard` executable.
struct BrokerConfig {
    // Clients connect here (ROUTER). Several endpoints may be bound: tcp, ipc and inproc.
    QStringList frontendEndpoints{QStringLiteral("tcp://127.0.0.1:5555")};
    // Workers connect here (ROUTER).
    QStringList backendEndpoints{QStringLiteral("tcp://127.0.0.1:5556")};
    // How often the broker sends HEARTBEAT to each worker; RFC 7 suggests 2.5 s.
    std::chrono::milliseconds heartbeatInterval{2500};
    // A worker silent for heartbeatInterval * liveness is purged.
    int liveness = 3;
    // Requests waiting for a worker, per service; the next one is answered QueueFull.
    std::size_t maxQueuePerService = 10000;
    // Bytes of all waiting requests together, all services; the next one is answered QueueFull.
    std::size_t maxQueuedBytes = std::size_t{256} << 20;
    // Dispatches of a request the client marked idempotent, the first included: when its
    // worker dies it goes to another one until this many were tried, then WorkerLost.
    int maxAttempts = 3;
    // ZMQ_SNDHWM and ZMQ_RCVHWM of every socket, in messages per peer. Past it, answers for a
    // client that does not read are held by the broker (below), a worker is treated as lost,
    // and a peer that sends faster than the broker reads is held back by TCP.
    int socketHwm = 1000;
    // Answers a client could not take yet (its pipe was at socketHwm) are held, in order, until
    // it reads. Once a client holds this many bytes of them, its new requests are answered
    // QueueFull before any worker runs them, until it has read down to half of it; work already
    // done is never thrown away for room.
    std::size_t maxHeldReplyBytesPerClient = std::size_t{64} << 20;
    // The same bound over all clients together: past it, every client with held answers gets
    // QueueFull for its new requests, while clients that read keep being served.
    std::size_t maxHeldReplyBytes = std::size_t{256} << 20;
    // ZMQ_MAXMSGSIZE of the frontend and backend: libzmq disconnects a peer that sends a
    // larger message before it is read whole. The admin endpoint keeps its own 64 KiB.
    std::int64_t maxMessageBytes = std::int64_t{16} << 20;
    // How long a request may wait for a worker before it is answered Expired/ServiceUnavailable.
    std::chrono::milliseconds requestTimeout{10000};
    // At most this many messages are read from one socket before the event loop gets a turn.
    int maxDrainBatch = 256;
    // Where monitors and operator tools connect (ROUTER, docs/PROTOCOL.md "Admin protocol").
    // Empty: no admin endpoint. Loopback by default: anyone who reaches it can evict workers.
    QStringList adminEndpoints{QStringLiteral("tcp://127.0.0.1:5557")};
    // How often the broker takes a snapshot for monitors (Broker::snapshotReady).
    std::chrono::milliseconds snapshotInterval{500};
    // Per-service, per-method and per-worker statistics. Off only to measure what they cost.
    bool statistics = true;
    // CURVE (docs/SECURITY.md): the broker's key pair, a certificate file with both keys as
    // `switchboard keygen` writes it. Empty: no CURVE, every endpoint takes any peer.
    QString curveKeyFile;
    // With curveKeyFile: the public keys allowed to connect, one certificate file each. Keys
    // directly in it may connect to every endpoint; keys in its subdirectories clients/,
    // workers/ and admin/ only to that one. Re-read on Broker::reloadKeys() and when it changes.
    QString authorizedKeysDirectory;
    // Where the HTTP listener serves /metrics (Prometheus), /livez and /readyz, as ADDR:PORT
    // (IPv6 as [::1]:PORT; port 0: any free one). Empty: no listener.
    QString metricsAddress;
    // Lets metricsAddress be beyond loopback: it has no authentication, and anyone who reaches
    // it reads the broker's services, workers and load.
    bool metricsBeyondLoopback = false;
};

} // namespace switchboard
