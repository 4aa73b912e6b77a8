#include <switchboard/broker/broker.h>

#include "brokershell.h"
#include "logging.h"

namespace switchboard {

BindError::BindError(QString endpoint, QString reason)
    : Error(QStringLiteral("cannot bind %1: %2").arg(endpoint, reason).toStdString())
    , m_endpoint(std::move(endpoint))
    , m_reason(std::move(reason))
{}

Broker::Broker(BrokerConfig config, zmq::context_t& context, QObject* parent)
    : QObject(parent)
    , m_shell(std::make_unique<Shell>(*this, std::move(config), context))
{
    // Monitors on other threads take snapshots through queued connections.
    qRegisterMetaType<BrokerSnapshot>();
}

Broker::~Broker() = default;

void Broker::start()
{
    m_shell->start();
}

QStringList Broker::frontendEndpoints() const
{
    return m_shell->frontendEndpoints;
}

QStringList Broker::backendEndpoints() const
{
    return m_shell->backendEndpoints;
}

QStringList Broker::adminEndpoints() const
{
    return m_shell->adminEndpoints;
}

QString Broker::metricsAddress() const
{
    return m_shell->metricsAddress;
}

const BrokerConfig& Broker::config() const noexcept
{
    return m_shell->config();
}

BrokerCounters Broker::counters() const
{
    return m_shell->counters();
}

bool Broker::isShutDown() const noexcept
{
    return m_shell->isShutDown();
}

BrokerSnapshot Broker::snapshot() const
{
    return m_shell->snapshot();
}

bool Broker::evictWorker(const QByteArray& identity)
{
    // A slot: nothing may escape into the event loop. Sends only throw once the context is
    // being torn down.
    try {
        return m_shell
            ->evictWorker(
                std::string_view(identity.constData(), static_cast<std::size_t>(identity.size())))
            .has_value();
    } catch (const std::exception& error) {
        qCWarning(lcBroker) << "evicting a worker failed:" << error.what();
        return false;
    }
}

QString Broker::reloadKeys()
{
    return m_shell->reloadKeys();
}

void Broker::shutdown()
{
    if (m_shell->isShutDown()) {
        return;
    }
    m_shell->shutdown();
    Q_EMIT shutDown();
}

} // namespace switchboard
