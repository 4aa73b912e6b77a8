#include "brokerreporter.h"

#include "logging.h"
#include <switchboard/monitoring/peername.h>

#include <switchboard/routing/registeredworker.h>
#include <switchboard/routing/service.h>

namespace switchboard {

namespace {

// Logs one warning line if `log` admits it, saying how many similar lines it held back since.
template <typename Write>
void warnLimited(RateLimitedLog& log, Write&& write)
{
    std::uint64_t suppressed = 0;
    if (!lcBroker().isWarningEnabled() || !log.admit(suppressed)) {
        return;
    }
    // What qCWarning expands to, as a variable the caller can write to.
    QDebug line = QMessageLogger(QT_MESSAGELOG_FILE, QT_MESSAGELOG_LINE, QT_MESSAGELOG_FUNC,
                                 lcBroker().categoryName())
                      .warning();
    line.nospace().noquote();
    write(line);
    if (suppressed) {
        line << " (" << suppressed << " similar messages suppressed)";
    }
}

ServiceMeter* serviceMeterOf(const Service& service) noexcept
{
    return static_cast<ServiceMeter*>(service.meter());
}

// Where a request the broker answered itself lands in RequestOutcomes. An expired request of a
// service without workers was answered ServiceUnavailable (RoutingCore::answerExpired decides
// the same way, before its worker count can change).
std::uint64_t RequestOutcomes::*outcomeOf(const Service& service, RequestFailure why) noexcept
{
    switch (why) {
    case RequestFailure::QueueFull:
        return &RequestOutcomes::queueFull;
    case RequestFailure::Expired:
        return service.workerCount() == 0 ? &RequestOutcomes::unavailable
                                          : &RequestOutcomes::expired;
    case RequestFailure::WorkerLost:
        return &RequestOutcomes::workerLost;
    case RequestFailure::Shutdown:
        return &RequestOutcomes::shutdown;
    }
    return &RequestOutcomes::workerLost; // not reached: the switch covers every failure
}

QString whatBecameOfItsRequest(const RegisteredWorker& worker)
{
    return worker.inFlight().empty()
               ? QString()
               : QStringLiteral(" (its request went to another worker if the client marked it "
                                "idempotent, else it was answered WorkerLost)");
}

} // namespace

BrokerReporter::BrokerReporter(Settings settings, TimePoint now)
    : m_settings(settings)
    , m_statistics(now)
{}

void BrokerReporter::sweep(TimePoint now)
{
    m_events.flush(now);
    if (m_settings.statistics) {
        m_statistics.sweep(now);
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

MeterSlot* BrokerReporter::serviceAdded(std::string_view name, TimePoint now)
{
    return m_settings.statistics ? &m_statistics.link(name, now) : nullptr;
}

void BrokerReporter::serviceRemoved(MeterSlot* service)
{
    if (service) {
        static_cast<ServiceMeter*>(service)->unlink();
    }
}

MeterSlot* BrokerReporter::requestReceived(const Service* service, std::string_view method,
                                           TimePoint now)
{
    if (!m_settings.statistics) {
        return nullptr;
    }
    m_statistics.recordRequest(now);
    ServiceMeter* meter = service ? serviceMeterOf(*service) : nullptr;
    if (!meter) {
        return nullptr;
    }
    meter->recordRequest(now);
    return &m_statistics.method(*meter, method, now);
}

void BrokerReporter::requestAnswered(const Service& service, MeterSlot* method,
                                     std::chrono::steady_clock::duration queueWait,
                                     std::chrono::steady_clock::duration serviceTime, bool error,
                                     TimePoint now)
{
    if (!method) {
        return;
    }
    static_cast<MethodMeter*>(method)->recordAnswer(queueWait, serviceTime, error, now);
    if (ServiceMeter* meter = serviceMeterOf(service); meter && error) {
        meter->recordError(now);
    }
}

void BrokerReporter::requestFailed(const Service& service, MeterSlot* method, RequestFailure why,
                                   std::chrono::milliseconds waited, TimePoint now)
{
    if (method) {
        static_cast<MethodMeter*>(method)->recordBrokerError(outcomeOf(service, why), now);
    }
    if (ServiceMeter* meter = serviceMeterOf(service)) {
        meter->recordError(now);
        if (why == RequestFailure::Expired) {
            meter->recordExpired();
        }
    }
    if (why != RequestFailure::Expired) {
        return;
    }
    m_events.addCoalesced(BrokerEvent::Kind::RequestExpired, service.name(), now, [&] {
        return service.workerCount() == 0
                   ? QStringLiteral("a request for service '%1' expired: no worker within %2 ms")
                         .arg(fromUtf8(service.name()))
                         .arg(waited.count())
                   : QStringLiteral("a request for service '%1' expired: its %2 workers stayed "
                                    "busy for %3 ms")
                         .arg(fromUtf8(service.name()))
                         .arg(service.workerCount())
                         .arg(waited.count());
    });
}

// ---------------------------------------------------------------------------------------------
// Workers

void BrokerReporter::workerJoined(const RegisteredWorker& worker, TimePoint /*now*/)
{
    const QString name = peerName(worker.identity());
    const QString service = fromUtf8(worker.service().name());
    qCDebug(lcBroker).noquote() << "worker" << name << "ready for" << service << "speaking"
                                << mdp::toString(worker.version()).data();
    m_events.add(BrokerEvent::Kind::WorkerJoined, service, name,
                 QStringLiteral("worker %1 joined service '%2' (%3)%4")
                     .arg(name, service,
                          worker.version() == mdp::Version::V01 ? QStringLiteral("MDPW01")
                                                                : QStringLiteral("MDPW02"),
                          worker.peerAddress().empty()
                              ? QString()
                              : QStringLiteral(" from ") + fromUtf8(worker.peerAddress())));
}

void BrokerReporter::workerLeft(const RegisteredWorker& worker, TimePoint /*now*/)
{
    const QString name = peerName(worker.identity());
    const QString service = fromUtf8(worker.service().name());
    m_events.add(BrokerEvent::Kind::WorkerLeft, service, name,
                 QStringLiteral("worker %1 of service '%2' said DISCONNECT%3")
                     .arg(name, service,
                          worker.inFlight().empty()
                              ? QString()
                              : QStringLiteral(" while holding a request (answered WorkerLost)")));
}

void BrokerReporter::workerPurged(const RegisteredWorker& worker, WorkerLoss why, TimePoint /*now*/)
{
    const QString name = peerName(worker.identity());
    const QString service = fromUtf8(worker.service().name());
    const QLatin1String reason(why == WorkerLoss::Silent ? "stopped heartbeating"
                                                         : "lost its connection");
    qCInfo(lcBroker).nospace().noquote()
        << "purging worker " << name << " of service " << service << ": it " << reason;
    m_events.add(BrokerEvent::Kind::WorkerExpired, service, name,
                 QStringLiteral("purged worker %1 of service '%2': it %3%4")
                     .arg(name, service, reason, whatBecameOfItsRequest(worker)));
}

void BrokerReporter::workerEvicted(const RegisteredWorker& worker, TimePoint /*now*/)
{
    const QString name = peerName(worker.identity());
    const QString service = fromUtf8(worker.service().name());
    qCInfo(lcBroker).noquote() << "evicting worker" << name << "of service" << service
                               << "on an operator's request";
    m_events.add(BrokerEvent::Kind::WorkerEvicted, service, name,
                 QStringLiteral("evicted worker %1 of service '%2' on an operator's request%3")
                     .arg(name, service, whatBecameOfItsRequest(worker)));
}

void BrokerReporter::workerViolated(const RegisteredWorker& worker, std::string_view why,
                                    TimePoint /*now*/)
{
    const QString name = peerName(worker.identity());
    const QString service = fromUtf8(worker.service().name());
    warnLimited(m_workerLog, [&](QDebug& line) {
        line << "disconnecting worker " << name << " of service " << service << ": "
             << fromUtf8(why);
    });
    m_events.add(BrokerEvent::Kind::WorkerDisconnected, service, name,
                 QStringLiteral("disconnected worker %1 of service '%2': %3")
                     .arg(name, service, fromUtf8(why)));
}

void BrokerReporter::strangerRefused(std::string_view identity, mdp::WorkerCommand command,
                                     TimePoint now)
{
    m_events.addCoalesced(BrokerEvent::Kind::WorkerDisconnected, {}, now, [&] {
        const bool answer = command == mdp::WorkerCommand::Reply ||
                            command == mdp::WorkerCommand::Partial ||
                            command == mdp::WorkerCommand::Final;
        return (answer ? QStringLiteral("dropped a late %2 from %1, a worker the broker had given "
                                        "up on, and sent it DISCONNECT")
                       : QStringLiteral("sent DISCONNECT to %1, which sent %2 without READY "
                                        "(workers do this once after a broker restart)"))
            .arg(peerName(identity), QLatin1String(mdp::toString(command).data()));
    });
}

void BrokerReporter::reservedServiceRefused(std::string_view identity, std::string_view service,
                                            TimePoint now)
{
    qCWarning(lcBroker).noquote() << "refused worker" << peerName(identity)
                                  << "for reserved service" << peerName(service);
    m_events.addCoalesced(BrokerEvent::Kind::WorkerDisconnected, service, now, [&] {
        return QStringLiteral("refused worker %1: service '%2' is reserved for the broker")
            .arg(peerName(identity), fromUtf8(service));
    });
}

// ---------------------------------------------------------------------------------------------
// Input

void BrokerReporter::malformed(const ProtocolError& error, bool fromWorker, std::string_view peer,
                               std::string_view service, TimePoint now)
{
    m_events.addCoalesced(BrokerEvent::Kind::ProtocolError, service, now, [&] {
        return QStringLiteral("malformed message from %1 %2: %3")
            .arg(fromWorker ? QStringLiteral("worker") : QStringLiteral("client"), peerName(peer),
                 QString::fromStdString(error.what()));
    });
    warnLimited(m_malformedLog, [&](QDebug& line) {
        line << "dropped malformed message from " << (fromWorker ? "worker " : "client ")
             << peerName(peer) << ": " << error.what();
    });
}

// ---------------------------------------------------------------------------------------------
// Clients that do not read

void BrokerReporter::clientNotReading(std::string_view client, TimePoint now)
{
    m_events.addCoalesced(BrokerEvent::Kind::ClientNotReading, {}, now, [&] {
        return QStringLiteral("client %1 is not reading: its answers are held until it does (its "
                              "pipe holds --socket-hwm %2 messages)")
            .arg(peerName(client))
            .arg(m_settings.socketHwm);
    });
    warnLimited(m_clientLog, [&](QDebug& line) {
        line << "client " << peerName(client)
             << " is not reading: holding its answers until it does";
    });
}

void BrokerReporter::clientAtBound(std::string_view client, std::size_t bytes, TimePoint now)
{
    m_events.addCoalesced(BrokerEvent::Kind::ClientAtBound, {}, now, [&] {
        return QStringLiteral("client %1 has %2 bytes of answers it has not read: its new "
                              "requests get QueueFull until it reads")
            .arg(peerName(client))
            .arg(bytes);
    });
    warnLimited(m_clientLog, [&](QDebug& line) {
        line << "client " << peerName(client) << " has " << bytes
             << " bytes of answers it has not read: refusing its new requests (QueueFull)";
    });
}

void BrokerReporter::requestDiscarded(std::string_view client, std::size_t bytes, TimePoint now)
{
    m_events.addCoalesced(BrokerEvent::Kind::RepliesDropped, {}, now, [&] {
        return QStringLiteral("discarded a request of client %1 unanswered: it sends without "
                              "reading, and %2 bytes of answers wait for it")
            .arg(peerName(client))
            .arg(bytes);
    });
}

void BrokerReporter::heldRepliesDropped(std::string_view client, std::size_t replies,
                                        std::size_t bytes, HeldDrop why, TimePoint now)
{
    const QLatin1String reason(
        why == HeldDrop::ClientGone ? "disconnected" : "did not read before the broker shut down");
    m_events.addCoalesced(BrokerEvent::Kind::RepliesDropped, {}, now, [&] {
        return QStringLiteral("dropped %1 answers (%2 bytes) held for client %3: it %4")
            .arg(replies)
            .arg(bytes)
            .arg(peerName(client), reason);
    });
    warnLimited(m_clientLog, [&](QDebug& line) {
        line << "dropped " << replies << " answers (" << bytes << " bytes) held for client "
             << peerName(client) << ": it " << reason;
    });
}

} // namespace switchboard
