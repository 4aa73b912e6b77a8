#pragma once

#include <switchboard/monitoring/brokersnapshot.h>

#include <QObject>
#include <QString>

namespace switchboard {

// The monitor's only way to the broker: snapshots in, commands out. One implementation talks to
// a broker in this process (LocalBrokerLink), the other to a remote one over its admin endpoint
// (RemoteBrokerLink), so every widget works the same with either.
class BrokerLink : public QObject {
    Q_OBJECT
public:
    // Incompatible: the broker answers in a snapshot format this monitor cannot read.
    enum class State { Connecting, Connected, Disconnected, Incompatible };
    Q_ENUM(State)

    using QObject::QObject;

    virtual State state() const = 0;
    // For the status bar: "in-process" or the admin endpoint.
    virtual QString description() const = 0;
    // In state Incompatible, why ("incompatible broker version: ..."); else empty.
    virtual QString problem() const { return {}; }

    // Asks the broker to evict a worker; the outcome arrives as commandFinished().
    virtual void evictWorker(const QByteArray& identity) = 0;

Q_SIGNALS:
    void snapshotReceived(const switchboard::BrokerSnapshot& snapshot);
    void stateChanged(switchboard::BrokerLink::State state);
    // `command` names what was asked ("evict <worker>"); message says why when ok is false.
    void commandFinished(const QString& command, bool ok, const QString& message);
};

} // namespace switchboard
