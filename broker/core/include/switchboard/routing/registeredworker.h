#pragma once

#include <switchboard/routing/clientrequest.h>
#include <switchboard/routing/requestterms.h>

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/mdp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

class Service;

// A method name held without allocating, for the worker's row in a snapshot: what it is running.
class MethodName {
public:
    void assign(std::string_view name) noexcept
    {
        m_size = static_cast<std::uint8_t>(std::min(name.size(), m_bytes.size()));
        std::copy_n(name.data(), m_size, m_bytes.data());
    }
    std::string_view view() const noexcept { return {m_bytes.data(), m_size}; }

private:
    std::array<char, rpc::kMaxMethodSize> m_bytes;
    std::uint8_t m_size = 0;
};

// A request handed to a worker and not yet answered.
struct InFlightRequest {
    std::string clientIdentity;
    // Tells apart the requests a worker with credit holds (docs/PROTOCOL.md §11.1): the client
    // address it was sent is the identity followed by these 4 bytes.
    std::uint32_t tag = 0;
    std::string requestId; // empty when the request had none we could echo
    std::chrono::steady_clock::time_point dispatchedAt;
    // A 7/MDP client cannot take a stream: it got StreamingUnsupported at the first PARTIAL
    // and the rest of the stream is dropped.
    bool streamRejected = false;
    // The client already has part of the answer: running it again would repeat those items.
    bool partialSent = false;
    // Deadline, statistics (queue wait = dispatchedAt - terms.receivedAt), attempts.
    RequestTerms terms;
    MethodName method;
    // The message as received, to queue it again: kept for an idempotent request with attempts
    // left (its worker may die) and for every request at a worker with credit (it may hand the
    // request back with DECLINE, docs/PROTOCOL.md §11.2). The frames share their buffers with
    // those sent (zmq_msg_copy).
    Frames retained;
    // The request as read at intake: its version, and where its body begins in `retained`.
    ClientRequest request;

    mdp::Version clientVersion() const noexcept { return request.version(); }
};

// A worker that said READY, as the broker sees it: its service, its connection, the requests it
// holds and what it has served. A plain MDP worker holds one request at a time; one that said
// "credit=N" in its READY holds up to N (docs/PROTOCOL.md §11.1), unless it declined one since
// its last HEARTBEAT (§11.2).
class RegisteredWorker {
public:
    using Clock = std::chrono::steady_clock;

    // `credit` as the READY said it: 0 for a plain MDP worker.
    RegisteredWorker(std::string identity, mdp::Version version, int credit, Service& service,
                     Clock::time_point now)
        : m_identity(std::move(identity))
        , m_version(version)
        , m_service(&service)
        , m_capacity(credit > 0 ? credit : 1)
        , m_credited(credit > 0)
        , m_registeredAt(now)
        , m_lastHeard(now)
    {
        m_inFlight.reserve(static_cast<std::size_t>(m_capacity));
    }

    const std::string& identity() const noexcept { return m_identity; }
    mdp::Version version() const noexcept { return m_version; }
    Service& service() const noexcept { return *m_service; }

    int capacity() const noexcept { return m_capacity; }
    bool hasCapacity() const noexcept
    {
        return !m_closed && static_cast<int>(m_inFlight.size()) < m_capacity;
    }
    // A worker that sent DECLINE is full, whatever it holds here: it serves other brokers too
    // (docs/PROTOCOL.md §11.2). It takes nothing until its next HEARTBEAT says it has room.
    bool closed() const noexcept { return m_closed; }
    void close() noexcept { m_closed = true; }
    void reopen() noexcept { m_closed = false; }
    // Said "credit=N": its requests carry tagged client addresses.
    bool credited() const noexcept { return m_credited; }
    // Unique among the requests it holds: a worker holds at most 1024, and the counter wraps
    // after 2^32.
    std::uint32_t nextTag() noexcept { return m_nextTag++; }
    std::vector<InFlightRequest>& inFlight() noexcept { return m_inFlight; }
    const std::vector<InFlightRequest>& inFlight() const noexcept { return m_inFlight; }

    Clock::time_point expiry() const noexcept { return m_expiry; }
    // Something arrived from the worker at `now`: it may stay silent until `expiry`.
    void heard(Clock::time_point now, Clock::time_point expiry) noexcept
    {
        m_lastHeard = now;
        m_expiry = expiry;
    }
    Clock::time_point lastHeard() const noexcept { return m_lastHeard; }
    Clock::time_point registeredAt() const noexcept { return m_registeredAt; }

    // The broker's end of the worker's connection (ZMQ_SRCFD), -1 for inproc: how a
    // disconnect reported by the socket monitor is traced to the worker.
    int connectionFd() const noexcept { return m_connectionFd; }
    void setConnectionFd(int fd) noexcept { m_connectionFd = fd; }

    // Where libzmq says the worker connects from ("Peer-Address"); empty for ipc and inproc.
    const std::string& peerAddress() const noexcept { return m_peerAddress; }
    void setPeerAddress(std::string address) { m_peerAddress = std::move(address); }

    // Final answers it delivered, and how many of them were error replies.
    std::uint64_t served() const noexcept { return m_served; }
    std::uint64_t errors() const noexcept { return m_errors; }
    void countAnswer(bool error) noexcept
    {
        ++m_served;
        m_errors += error ? 1 : 0;
    }

    // Links of the service's idle list (see IdleWorkerList), kept here so that joining,
    // leaving and rotating the list never allocates.
    RegisteredWorker* idlePrev = nullptr;
    RegisteredWorker* idleNext = nullptr;
    bool idleLinked = false;

private:
    std::string m_identity;
    mdp::Version m_version;
    Service* m_service;
    int m_capacity;
    bool m_credited;
    bool m_closed = false;
    std::uint32_t m_nextTag = 0;
    std::vector<InFlightRequest> m_inFlight;
    Clock::time_point m_expiry;
    Clock::time_point m_registeredAt;
    Clock::time_point m_lastHeard;
    std::string m_peerAddress;
    int m_connectionFd = -1;
    std::uint64_t m_served = 0;
    std::uint64_t m_errors = 0;
};

} // namespace switchboard
