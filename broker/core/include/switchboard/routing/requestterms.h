#pragma once

#include <chrono>

namespace switchboard {

class MeterSlot;

// What the broker knows of a request besides its frames, from receipt to its answer.
struct RequestTerms {
    // min(the client's timeout_ms, --request-timeout) after receipt: never dispatched later.
    std::chrono::steady_clock::time_point deadline;
    // Where the observer counts its outcome (RoutingObserver::requestReceived), and since when
    // it waits.
    MeterSlot* meter = nullptr;
    std::chrono::steady_clock::time_point receivedAt;
    // Dispatches so far; a request re-queued after its worker died has had at least one.
    int attempts = 0;
    // The client allowed running it again on another worker (options frame, PROTOCOL.md §6).
    bool idempotent = false;
};

} // namespace switchboard
