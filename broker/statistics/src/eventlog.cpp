#include <switchboard/statistics/eventlog.h>

#include <QDateTime>

namespace switchboard {

namespace {

QString heldText(BrokerEvent::Kind kind, std::uint64_t held, const QString& service)
{
    const QString where =
        service.isEmpty() ? QString() : QStringLiteral(" for service '%1'").arg(service);
    switch (kind) {
    case BrokerEvent::Kind::RequestExpired:
        return QStringLiteral("%1 more requests%2 expired within a second").arg(held).arg(where);
    case BrokerEvent::Kind::ProtocolError:
        return QStringLiteral("%1 more malformed messages%2 within a second").arg(held).arg(where);
    case BrokerEvent::Kind::WorkerDisconnected:
        return QStringLiteral("%1 more peers%2 were sent DISCONNECT within a second")
            .arg(held)
            .arg(where);
    case BrokerEvent::Kind::ClientNotReading:
        return QStringLiteral("clients stopped reading %1 more times within a second").arg(held);
    case BrokerEvent::Kind::ClientAtBound:
        return QStringLiteral("clients reached their bound of unread answers %1 more times within "
                              "a second")
            .arg(held);
    case BrokerEvent::Kind::RepliesDropped:
        return QStringLiteral("%1 more drops of answers or requests for clients that do not read "
                              "within a second")
            .arg(held);
    default:
        return QStringLiteral("%1 more '%2' events%3 within a second")
            .arg(held)
            .arg(toString(kind), where);
    }
}

} // namespace

void EventLog::add(Kind kind, QString service, QString worker, QString text, std::uint64_t count)
{
    BrokerEvent event;
    event.sequence = ++m_sequence;
    event.timeMs = QDateTime::currentMSecsSinceEpoch();
    event.kind = kind;
    event.service = std::move(service);
    event.worker = std::move(worker);
    event.text = std::move(text);
    event.count = count;
    if (m_ring.size() < kCapacity) {
        m_ring.push_back(std::move(event));
    } else {
        m_ring[m_next] = std::move(event);
        m_next = (m_next + 1) % kCapacity;
    }
}

EventLog::Burst& EventLog::burstFor(Kind kind, std::string_view service)
{
    auto& bursts = m_bursts[static_cast<std::size_t>(kind)];
    auto it = bursts.find(service);
    if (it == bursts.end()) {
        if (bursts.size() >= kMaxBurstKeys) {
            service = {};
            it = bursts.find(service);
        }
        if (it == bursts.end()) {
            it = bursts.try_emplace(std::string(service)).first;
        }
    }
    return it->second;
}

void EventLog::writeHeld(Kind kind, std::string_view service, Burst& burst)
{
    if (burst.held == 0) {
        return;
    }
    const QString name = QString::fromUtf8(service.data(), static_cast<qsizetype>(service.size()));
    add(kind, name, {}, heldText(kind, burst.held, name), burst.held);
    burst.held = 0;
}

void EventLog::flush(Clock::time_point now)
{
    for (std::size_t kind = 0; kind < m_bursts.size(); ++kind) {
        auto& bursts = m_bursts[kind];
        for (auto it = bursts.begin(); it != bursts.end();) {
            Burst& burst = it->second;
            const auto age = now - burst.lastWritten;
            if (burst.held > 0 && age >= kBurstSpan) {
                writeHeld(static_cast<Kind>(kind), it->first, burst);
                burst.lastWritten = now;
                ++it;
            } else if (burst.held == 0 && age >= 10 * kBurstSpan) {
                it = bursts.erase(it);
            } else {
                ++it;
            }
        }
    }
}

QVector<BrokerEvent> EventLog::newest(std::size_t count) const
{
    const std::size_t n = std::min(count, m_ring.size());
    QVector<BrokerEvent> events;
    events.reserve(static_cast<qsizetype>(n));
    // Once the ring is full the oldest event sits at m_next.
    const std::size_t oldest = m_ring.size() < kCapacity ? 0 : m_next;
    for (std::size_t i = m_ring.size() - n; i < m_ring.size(); ++i) {
        events.push_back(m_ring[(oldest + i) % m_ring.size()]);
    }
    return events;
}

} // namespace switchboard
