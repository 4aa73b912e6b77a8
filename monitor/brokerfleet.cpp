#include "brokerfleet.h"

#include <QDateTime>

#include <utility>

namespace switchboard {

BrokerFleet::BrokerFleet(QObject* parent)
    : QObject(parent)
    , m_nowMs([] { return QDateTime::currentMSecsSinceEpoch(); })
{}

void BrokerFleet::setClock(std::function<std::int64_t()> nowMs)
{
    m_nowMs = std::move(nowMs);
}

int BrokerFleet::addLink(BrokerLink& link)
{
    const int broker = size();
    m_links.push_back(&link);
    FleetMember member;
    member.name = link.description();
    member.state = link.state();
    member.problem = link.problem();
    m_members.push_back(member);
    connect(&link, &BrokerLink::snapshotReceived, this,
            [this, broker](const BrokerSnapshot& snapshot) { onSnapshot(broker, snapshot); });
    connect(&link, &BrokerLink::stateChanged, this,
            [this, broker](BrokerLink::State state) { onState(broker, state); });
    connect(&link, &BrokerLink::commandFinished, this,
            [this, broker](const QString& command, bool ok, const QString& message) {
                Q_EMIT commandFinished(broker, command, ok, message);
            });
    rebuild();
    return broker;
}

bool BrokerFleet::isUp(int broker) const
{
    return broker >= 0 && broker < m_current.brokers.size() && m_current.brokers[broker].up;
}

void BrokerFleet::evictWorker(int broker, const QByteArray& identity)
{
    if (broker >= 0 && broker < size()) {
        m_links[broker]->evictWorker(identity);
    }
}

void BrokerFleet::onSnapshot(int broker, const BrokerSnapshot& snapshot)
{
    FleetMember& member = m_members[broker];
    member.last = snapshot;
    member.reporting = true;
    // A remote link reports Connected with its first snapshot; a scripted or local one may
    // not say anything, and a snapshot is the best proof of life there is.
    member.state = m_links[broker]->state();
    member.downSinceMs = 0;
    Q_EMIT snapshotReceived(broker, snapshot);
    rebuild();
}

void BrokerFleet::onState(int broker, BrokerLink::State state)
{
    FleetMember& member = m_members[broker];
    const bool wasUp = member.state == BrokerLink::State::Connected;
    member.state = state;
    if (state != BrokerLink::State::Connected) {
        member.reporting = false;
    }
    member.problem = m_links[broker]->problem();
    member.name = m_links[broker]->description();
    if (state != BrokerLink::State::Connected && (wasUp || member.downSinceMs == 0)) {
        member.downSinceMs = m_nowMs();
    }
    Q_EMIT linkStateChanged(broker, state);
    rebuild();
}

void BrokerFleet::rebuild()
{
    m_current = combine(m_members);
    Q_EMIT updated(m_current);
}

} // namespace switchboard
