#include <switchboard/broker/brokerthread.h>

#include <exception>

namespace switchboard {

BrokerThread::BrokerThread(BrokerConfig config, zmq::context_t& context)
    : m_config(std::move(config))
    , m_context(context)
{}

BrokerThread::~BrokerThread()
{
    stop();
}

void BrokerThread::start()
{
    if (m_thread) {
        return;
    }
    m_thread = std::make_unique<QThread>();
    m_thread->setObjectName(QStringLiteral("switchboard-broker"));
    m_thread->start();

    // Created on its own thread, so its sockets, notifiers and timers belong there from birth.
    std::exception_ptr failure;
    QObject context;
    context.moveToThread(m_thread.get());
    QMetaObject::invokeMethod(
        &context,
        [&] {
            auto broker = std::make_unique<Broker>(m_config, m_context);
            try {
                broker->start();
            } catch (...) {
                failure = std::current_exception();
                return;
            }
            m_frontends = broker->frontendEndpoints();
            m_backends = broker->backendEndpoints();
            m_admins = broker->adminEndpoints();
            m_metrics = broker->metricsAddress();
            m_broker = broker.release();
        },
        Qt::BlockingQueuedConnection);
    if (failure) {
        m_thread->quit();
        m_thread->wait();
        m_thread.reset();
        std::rethrow_exception(failure);
    }
}

void BrokerThread::stop()
{
    if (!m_thread) {
        return;
    }
    QMetaObject::invokeMethod(
        m_broker,
        [broker = m_broker] {
            broker->shutdown();
            delete broker;
        },
        Qt::BlockingQueuedConnection);
    m_broker = nullptr;
    m_thread->quit();
    m_thread->wait();
    m_thread.reset();
}

QStringList BrokerThread::frontendEndpoints() const
{
    return m_frontends;
}

QStringList BrokerThread::backendEndpoints() const
{
    return m_backends;
}

QStringList BrokerThread::adminEndpoints() const
{
    return m_admins;
}

QString BrokerThread::metricsAddress() const
{
    return m_metrics;
}

BrokerSnapshot BrokerThread::snapshot() const
{
    BrokerSnapshot snapshot;
    if (m_broker) {
        QMetaObject::invokeMethod(
            m_broker, [&] { snapshot = m_broker->snapshot(); }, Qt::BlockingQueuedConnection);
    }
    return snapshot;
}

bool BrokerThread::evictWorker(const QByteArray& identity)
{
    bool evicted = false;
    if (m_broker) {
        QMetaObject::invokeMethod(
            m_broker, [&] { evicted = m_broker->evictWorker(identity); },
            Qt::BlockingQueuedConnection);
    }
    return evicted;
}

QString BrokerThread::reloadKeys()
{
    QString summary;
    if (m_broker) {
        QMetaObject::invokeMethod(
            m_broker, [&] { summary = m_broker->reloadKeys(); }, Qt::BlockingQueuedConnection);
    }
    return summary;
}

BrokerCounters BrokerThread::counters() const
{
    BrokerCounters counters;
    if (m_broker) {
        QMetaObject::invokeMethod(
            m_broker, [&] { counters = m_broker->counters(); }, Qt::BlockingQueuedConnection);
    }
    return counters;
}

} // namespace switchboard
