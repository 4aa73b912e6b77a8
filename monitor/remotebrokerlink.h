#pragma once

#include "brokerlink.h"

#include <switchboard/broker/adminclient.h>

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
    void evictWorker(const QByteArray& identity) override;

private:
    AdminClient m_client;
    State m_state = State::Connecting;
};

} // namespace switchboard
