#include "localbrokerlink.h"

#include <switchboard/broker/broker.h>
#include <switchboard/monitoring/peername.h>

namespace switchboard {

LocalBrokerLink::LocalBrokerLink(Broker& broker, QObject* parent)
    : BrokerLink(parent)
    , m_broker(&broker)
{
    connect(&broker, &Broker::snapshotReady, this, &BrokerLink::snapshotReceived);
    connect(&broker, &Broker::shutDown, this, [this] {
        m_state = State::Disconnected;
        Q_EMIT stateChanged(m_state);
    });
}

BrokerLink::State LocalBrokerLink::state() const
{
    return m_state;
}

QString LocalBrokerLink::description() const
{
    return tr("in-process broker");
}

void LocalBrokerLink::evictWorker(const QByteArray& identity)
{
    const QString command = tr("evict %1").arg(peerName(identity));
    if (!m_broker) {
        Q_EMIT commandFinished(command, false, tr("the broker has stopped"));
        return;
    }
    // Runs on the broker's thread (and not at all if the broker is gone by then); the answer
    // comes back to ours as a queued call, dropped if this link is gone.
    Broker* broker = m_broker.data();
    QMetaObject::invokeMethod(broker, [broker, link = QPointer(this), identity, command] {
        const bool evicted = broker->evictWorker(identity);
        if (link) {
            QMetaObject::invokeMethod(link.data(), [link, command, evicted] {
                if (link) {
                    Q_EMIT link->commandFinished(command, evicted,
                                                 evicted ? QString()
                                                         : tr("no such worker (it already left)"));
                }
            });
        }
    });
}

} // namespace switchboard
