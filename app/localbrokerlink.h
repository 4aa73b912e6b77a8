#pragma once

#include "brokerlink.h"

#include <QPointer>

namespace switchboard {

class Broker;

// A broker in this process, usually on a thread of its own (BrokerThread): snapshots arrive
// through its snapshotReady signal as queued calls, commands go to it the same way, so the
// window never touches the broker's state and painting never delays routing.
class LocalBrokerLink : public BrokerLink {
    Q_OBJECT
public:
    explicit LocalBrokerLink(Broker& broker, QObject* parent = nullptr);

    State state() const override;
    QString description() const override;
    void evictWorker(const QByteArray& identity) override;

private:
    QPointer<Broker> m_broker;
    State m_state = State::Connected;
};

} // namespace switchboard
