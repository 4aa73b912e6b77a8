#pragma once

#include <switchboard/routing/outbox.h>
#include <switchboard/routing/stringmap.h>

#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

// Answers a client could not take when they were ready, kept until it reads. A ROUTER that finds
// a peer's pipe at its high-water mark can only drop the message; for an answer that is work
// done and lost (a charge, an order). So each such answer is kept here, per client and in the
// order it came, and every later answer for that client queues behind it until flush() finds
// the client reading again. Plain C++: the caller says how to send and when to retry.
//
// Bounded without throwing work away: past its bound a client's *new* requests are refused
// (admit()) until it has read down to half of it, while answers of work already accepted are
// always kept. The refusals are answers
// too and are kept as well, until the refusals alone fill as much again; beyond that a request
// is discarded, since a client that sends that much without reading cannot be answered at all.
class HeldReplies {
public:
    struct Limits {
        std::size_t perClientBytes;
        std::size_t totalBytes;
    };

    enum class Kind {
        Answer,  // of work accepted: kept whatever the bounds
        Refusal, // an error for a request refused at intake (or a malformed one): bounded
    };

    // What a send did with one answer (the outbox's result).
    using Delivery = switchboard::Delivery;

    // What to do with a new request from a client.
    enum class Admission {
        Accept,
        RefuseClient, // this client holds its bound or more: answer QueueFull
        RefuseTotal,  // all clients together hold the broker-wide bound, this one some of it
        Discard,      // at a bound, and its refusals alone fill as much: not even one more
    };

    // A client found gone with answers held: they are dropped.
    struct Released {
        std::string client;
        std::size_t replies = 0;
        std::size_t bytes = 0;
    };

    struct FlushReport {
        std::size_t delivered = 0;
        std::vector<Released> released;
    };

    // What one held answer is counted for: its frames, and the bookkeeping each frame costs
    // (a zmq_msg_t and its share of the queue), so that a flood of small refusals is bounded in
    // memory as well as in bytes.
    static constexpr std::size_t kFrameOverhead = 64;
    static std::size_t footprint(const Frames& frames) noexcept;

    explicit HeldReplies(Limits limits)
        : m_limits(limits)
    {}

    const Limits& limits() const noexcept { return m_limits; }
    bool empty() const noexcept { return m_clients.empty(); }
    // Whether answers for `client` must queue behind held ones rather than be sent.
    bool isHolding(std::string_view client) const;

    // Keeps an answer ([client identity, frames...]) behind the client's others. True if the
    // client had none held before: it has just stopped reading.
    bool hold(Frames&& reply, Kind kind = Kind::Answer);

    // Decides on a new request from `client`. A client that was refused before and is still
    // over its bound is not `newlyAtBound`.
    struct Decision {
        Admission admission = Admission::Accept;
        bool newlyAtBound = false;
        std::size_t clientBytes = 0;
    };
    Decision admit(std::string_view client);
    // Whether even an error for `client` can no longer be kept (Admission::Discard).
    bool isPastHardBound(std::string_view client) const;

    // Sends what each client can take now, oldest first, until its pipe is full again. Clients
    // found gone are released and reported. `send` moves the frames out when it returns Sent and
    // leaves them in place otherwise.
    FlushReport flush(const std::function<Delivery(Frames&)>& send);

    // Drops everything (the broker is shutting down); returns what was held.
    std::vector<Released> releaseAll();

    std::size_t replies() const noexcept { return m_replies; }
    std::size_t bytes() const noexcept { return m_bytes; }
    std::size_t clients() const noexcept { return m_clients.size(); }
    std::size_t bytesOf(std::string_view client) const;
    // Clients whose new requests are being refused.
    std::size_t clientsAtBound() const noexcept;

private:
    struct Held {
        Frames frames;
        std::size_t bytes = 0; // footprint()
        Kind kind = Kind::Answer;
    };
    struct Backlog {
        std::deque<Held> replies;
        std::size_t bytes = 0;
        std::size_t refusalBytes = 0; // of which refusals
        bool atBound = false;         // refused a request since it last had room
    };

    Admission admissionOf(const Backlog& backlog) const noexcept;

    Limits m_limits;
    StringMap<Backlog> m_clients;
    std::size_t m_replies = 0;
    std::size_t m_bytes = 0;
    std::size_t m_refusalBytes = 0;
};

} // namespace switchboard
