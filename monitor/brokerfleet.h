#pragma once

#include "brokerlink.h"
#include "fleetsnapshot.h"

#include <QObject>
#include <QVector>

#include <cstdint>
#include <functional>

namespace switchboard {

// Several brokers watched as one: keeps each BrokerLink's latest snapshot and state, and after
// every change combines them (combine()) into the rows the window shows. The window reads the
// brokers only through this and their links; evictions go to the link of the worker's broker.
// With one link it shows that broker exactly as the link reports it.
class BrokerFleet : public QObject {
    Q_OBJECT
public:
    explicit BrokerFleet(QObject* parent = nullptr);

    // The link must outlive the fleet. Its index is its broker number in the rows.
    int addLink(BrokerLink& link);

    int size() const { return static_cast<int>(m_members.size()); }
    BrokerLink& link(int broker) const { return *m_links.at(broker); }
    const FleetSnapshot& current() const { return m_current; }
    bool isUp(int broker) const;

    // The wall clock (ms since the epoch) that dates a broker going down; tests and renders
    // set their own. Default: QDateTime::currentMSecsSinceEpoch.
    void setClock(std::function<std::int64_t()> nowMs);

    // Asks the worker's broker to evict it; the outcome arrives as commandFinished().
    void evictWorker(int broker, const QByteArray& identity);

Q_SIGNALS:
    // After every snapshot or change of state of any broker.
    void updated(const switchboard::FleetSnapshot& fleet);
    // Each broker's snapshots as they come, for what keeps its own history (the event log).
    void snapshotReceived(int broker, const switchboard::BrokerSnapshot& snapshot);
    void linkStateChanged(int broker, switchboard::BrokerLink::State state);
    void commandFinished(int broker, const QString& command, bool ok, const QString& message);

private:
    void onSnapshot(int broker, const BrokerSnapshot& snapshot);
    void onState(int broker, BrokerLink::State state);
    void rebuild();

    QVector<BrokerLink*> m_links;
    QVector<FleetMember> m_members;
    FleetSnapshot m_current;
    std::function<std::int64_t()> m_nowMs;
};

} // namespace switchboard
