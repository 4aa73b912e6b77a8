#pragma once

#include "ratelimitedlog.h"
#include <switchboard/statistics/brokerstatistics.h>
#include <switchboard/statistics/eventlog.h>

#include <switchboard/routing/routingobserver.h>

namespace switchboard {

// The broker's RoutingObserver: turns the routing core's typed events into the statistics
// (BrokerStatistics), the operator's event log (EventLog, with the texts a monitor shows) and
// rate-limited log lines. Runs on the broker's thread.
class BrokerReporter final : public RoutingObserver {
public:
    struct Settings {
        bool statistics = true; // BrokerConfig::statistics
        int socketHwm = 1000;   // for the text that says why a client's answers are held
    };

    BrokerReporter(Settings settings, TimePoint now);

    const BrokerStatistics& statistics() const noexcept { return m_statistics; }
    bool hasStatistics() const noexcept { return m_settings.statistics; }
    const EventLog& events() const noexcept { return m_events; }
    // The snapshot timer's housekeeping: coalesced events written, gone services' meters dropped.
    void sweep(TimePoint now);

    MeterSlot* serviceAdded(std::string_view name, TimePoint now) override;
    void serviceRemoved(MeterSlot* service) override;
    MeterSlot* requestReceived(const Service* service, std::string_view method,
                               TimePoint now) override;
    void requestAnswered(const Service& service, MeterSlot* method,
                         std::chrono::steady_clock::duration queueWait,
                         std::chrono::steady_clock::duration serviceTime, bool error,
                         TimePoint now) override;
    void requestFailed(const Service& service, MeterSlot* method, RequestFailure why,
                       std::chrono::milliseconds waited, TimePoint now) override;

    void workerJoined(const RegisteredWorker& worker, TimePoint now) override;
    void workerLeft(const RegisteredWorker& worker, TimePoint now) override;
    void workerPurged(const RegisteredWorker& worker, WorkerLoss why, TimePoint now) override;
    void workerEvicted(const RegisteredWorker& worker, TimePoint now) override;
    void workerViolated(const RegisteredWorker& worker, std::string_view why,
                        TimePoint now) override;
    void strangerRefused(std::string_view identity, mdp::WorkerCommand command,
                         TimePoint now) override;
    void reservedServiceRefused(std::string_view identity, std::string_view service,
                                TimePoint now) override;

    void malformed(const ProtocolError& error, bool fromWorker, std::string_view peer,
                   std::string_view service, TimePoint now) override;

    void clientNotReading(std::string_view client, TimePoint now) override;
    void clientAtBound(std::string_view client, std::size_t bytes, TimePoint now) override;
    void requestDiscarded(std::string_view client, std::size_t bytes, TimePoint now) override;
    void heldRepliesDropped(std::string_view client, std::size_t replies, std::size_t bytes,
                            HeldDrop why, TimePoint now) override;

private:
    Settings m_settings;
    BrokerStatistics m_statistics;
    EventLog m_events;
    RateLimitedLog m_malformedLog;
    RateLimitedLog m_workerLog;
    RateLimitedLog m_clientLog;
};

} // namespace switchboard
