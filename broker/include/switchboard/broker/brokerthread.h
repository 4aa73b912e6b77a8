#pragma once

#include <switchboard/broker/broker.h>

#include <QStringList>
#include <QThread>

#include <memory>

namespace switchboard {

// Runs a Broker on a thread of its own, with its own event loop, so that whatever the calling
// thread does (painting a window, blocking in a test) never delays routing.
class BrokerThread {
public:
    BrokerThread(BrokerConfig config, zmq::context_t& context);
    ~BrokerThread(); // stop() if still running

    BrokerThread(const BrokerThread&) = delete;
    BrokerThread& operator=(const BrokerThread&) = delete;

    // Starts the thread and binds; returns once the broker serves. Rethrows the broker's
    // BindError in the calling thread.
    void start();
    // Graceful shutdown (Broker::shutdown()) and join. Safe to call twice.
    void stop();

    QStringList frontendEndpoints() const;
    QStringList backendEndpoints() const;
    QStringList adminEndpoints() const;
    // Broker::metricsAddress() as it was after start().
    QString metricsAddress() const;
    // A consistent copy, taken on the broker's thread.
    BrokerCounters counters() const;
    // Broker::snapshot() and Broker::evictWorker(), run on the broker's thread; the calling
    // thread waits. An empty snapshot and false once stopped.
    BrokerSnapshot snapshot() const;
    bool evictWorker(const QByteArray& identity);
    // Broker::reloadKeys() on the broker's thread; empty once stopped or without CURVE.
    QString reloadKeys();
    // Lives on the broker thread: talk to it only through queued calls.
    Broker* broker() const noexcept { return m_broker; }

private:
    BrokerConfig m_config;
    zmq::context_t& m_context;
    std::unique_ptr<QThread> m_thread;
    Broker* m_broker = nullptr;
    QStringList m_frontends;
    QStringList m_backends;
    QStringList m_admins;
    QString m_metrics;
};

} // namespace switchboard
