#include "remotebrokerlink.h"

#include <switchboard/monitoring/peername.h>

namespace switchboard {

RemoteBrokerLink::RemoteBrokerLink(const QString& endpoint, zmq::context_t& context,
                                   AdminClient::Options options, QObject* parent)
    : BrokerLink(parent)
    , m_client(endpoint, context, options)
{
    connect(&m_client, &AdminClient::snapshotReceived, this,
            [this](const BrokerSnapshot& snapshot) {
                setState(State::Connected);
                Q_EMIT snapshotReceived(snapshot);
            });
    connect(&m_client, &AdminClient::connectedChanged, this, [this](bool connected) {
        setState(connected ? State::Connected : State::Disconnected);
    });
    connect(&m_client, &AdminClient::brokerIncompatible, this, [this](const QString& message) {
        m_problem = message;
        setState(State::Incompatible);
    });
    connect(&m_client, &AdminClient::evictFinished, this,
            [this](const QByteArray& identity, bool ok, const QString& message) {
                Q_EMIT commandFinished(tr("evict %1").arg(peerName(identity)), ok, message);
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

QString RemoteBrokerLink::problem() const
{
    return m_state == State::Incompatible ? m_problem : QString();
}

void RemoteBrokerLink::setState(State state)
{
    if (state != m_state) {
        m_state = state;
        Q_EMIT stateChanged(m_state);
    }
}

void RemoteBrokerLink::evictWorker(const QByteArray& identity)
{
    m_client.evictWorker(identity);
}

} // namespace switchboard
