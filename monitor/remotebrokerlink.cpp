#include "remotebrokerlink.h"

#include "workername.h"

namespace switchboard {

RemoteBrokerLink::RemoteBrokerLink(const QString& endpoint, zmq::context_t& context,
                                   AdminClient::Options options, QObject* parent)
    : BrokerLink(parent)
    , m_client(endpoint, context, options)
{
    connect(&m_client, &AdminClient::snapshotReceived, this, &BrokerLink::snapshotReceived);
    connect(&m_client, &AdminClient::connectedChanged, this, [this](bool connected) {
        const State state = connected ? State::Connected : State::Disconnected;
        if (state != m_state) {
            m_state = state;
            Q_EMIT stateChanged(m_state);
        }
    });
    connect(&m_client, &AdminClient::evictFinished, this,
            [this](const QByteArray& identity, bool ok, const QString& message) {
                Q_EMIT commandFinished(tr("evict %1").arg(workerName(identity)), ok, message);
            });
    m_client.start();
}

BrokerLink::State RemoteBrokerLink::state() const
{
    return m_state;
}

QString RemoteBrokerLink::description() const
{
    return m_client.endpoint();
}

void RemoteBrokerLink::evictWorker(const QByteArray& identity)
{
    m_client.evictWorker(identity);
}

} // namespace switchboard
