#pragma once

#include "brokerlink.h"

#include <switchboard/monitoring/adminclient.h>

namespace switchboard {

// A broker in another process or on another machine, through its admin endpoint. AdminClient
// polls snapshots and reconnects by itself; this only translates its signals.
class RemoteBrokerLink : public BrokerLink {
    Q_OBJECT
public:
    RemoteBrokerLink(const QString& endpoint, zmq::context_t& context,
                     AdminClient::Options options = {}, QObject* parent = nullptr);

    State state() const override;
    QString description() const override;
    QString problem() const override;
    void evictWorker(const QByteArray& identity) override;

private:
    AdminClient m_client;
    void setState(State state);

    State m_state = State::Connecting;
    QString m_problem;
};

} // namespace switchboard
