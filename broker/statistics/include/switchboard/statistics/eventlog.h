#pragma once

#include <switchboard/routing/stringmap.h>

#include <switchboard/monitoring/brokersnapshot.h>

#include <QString>
#include <QVector>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace switchboard {

// What happened to the broker, for an operator: a ring of the last kCapacity events, each with
// a sequence number that only grows. Workers joining and leaving are written one by one; what
// can come in floods (expired requests, malformed messages) goes through addCoalesced(), so that
// a flood costs a counter increment per message rather than an event.
class EventLog {
public:
    using Clock = std::chrono::steady_clock;
    using Kind = BrokerEvent::Kind;

    static constexpr std::size_t kCapacity = 1000;
    // How many of the newest events a snapshot carries.
    static constexpr std::size_t kSnapshotEvents = 200;
    static constexpr std::chrono::seconds kBurstSpan{1};
    // Distinct services tracked per kind for coalescing; beyond, bursts are keyed by "" (any).
    static constexpr std::size_t kMaxBurstKeys = 256;

    EventLog() { m_ring.reserve(kCapacity); }

    void add(Kind kind, QString service, QString worker, QString text, std::uint64_t count = 1);

    // At most one event per kind and service per kBurstSpan: the first is written at once, with
    // the text `makeText()` returns (called only then); the others are counted, and flush()
    // writes them as one event whose count says how many it stands for.
    template <typename MakeText>
    void addCoalesced(Kind kind, std::string_view service, Clock::time_point now,
                      MakeText&& makeText)
    {
        Burst& burst = burstFor(kind, service);
        if (burst.written && now - burst.lastWritten < kBurstSpan) {
            ++burst.held;
            return;
        }
        writeHeld(kind, service, burst);
        burst.written = true;
        burst.lastWritten = now;
        add(kind, QString::fromUtf8(service.data(), static_cast<qsizetype>(service.size())), {},
            makeText());
    }

    // Writes what addCoalesced() held back for longer than kBurstSpan; forgets quiet bursts.
    void flush(Clock::time_point now);

    // The newest `count` events, oldest first.
    QVector<BrokerEvent> newest(std::size_t count = kSnapshotEvents) const;
    std::uint64_t lastSequence() const noexcept { return m_sequence; }

private:
    struct Burst {
        Clock::time_point lastWritten{};
        std::uint64_t held = 0;
        bool written = false;
    };

    Burst& burstFor(Kind kind, std::string_view service);
    void writeHeld(Kind kind, std::string_view service, Burst& burst);

    std::vector<BrokerEvent> m_ring;
    std::size_t m_next = 0; // where the next event goes once the ring is full
    std::uint64_t m_sequence = 0;
    static constexpr std::size_t kKinds = static_cast<std::size_t>(Kind::RepliesDropped) + 1;
    std::array<StringMap<Burst>, kKinds> m_bursts; // by Kind
};

} // namespace switchboard
