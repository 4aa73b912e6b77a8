#pragma once

#include <switchboard/broker/brokerthread.h>

#include <zmq.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace switchboard::test {

// A broker on its own thread, bound to ephemeral loopback ports, so tests can block on their
// peers without stalling it and never fight over ports. It has no admin endpoint (the default
// one is a fixed port) unless asked for with Admin::Endpoint.
class TestBroker {
public:
    enum class Admin { None, Endpoint };

    explicit TestBroker(BrokerConfig config = {}, const QString& transport = QStringLiteral("tcp"),
                        Admin admin = Admin::None)
    {
        if (transport == QLatin1String("inproc")) {
            static int instance = 0;
            ++instance;
            config.frontendEndpoints = {QStringLiteral("inproc://frontend-%1").arg(instance)};
            config.backendEndpoints = {QStringLiteral("inproc://backend-%1").arg(instance)};
            config.adminEndpoints = {QStringLiteral("inproc://admin-%1").arg(instance)};
        } else {
            config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
            config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
            config.adminEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
        }
        if (admin == Admin::None) {
            config.adminEndpoints.clear();
        }
        m_config = config;
        m_thread = std::make_unique<BrokerThread>(config, m_context);
        m_thread->start();
    }

    TestBroker(BrokerConfig config, Admin admin)
        : TestBroker(std::move(config), QStringLiteral("tcp"), admin)
    {}

    ~TestBroker() { m_thread->stop(); }

    zmq::context_t& context() { return m_context; }
    std::string frontend() const { return m_thread->frontendEndpoints().first().toStdString(); }
    std::string backend() const { return m_thread->backendEndpoints().first().toStdString(); }
    // The admin endpoint as bound (Admin::Endpoint only).
    std::string admin() const { return m_thread->adminEndpoints().value(0).toStdString(); }
    // The metrics listener's address, with BrokerConfig::metricsAddress ("127.0.0.1:41234").
    QString metrics() const { return m_thread->metricsAddress(); }
    BrokerCounters counters() const { return m_thread->counters(); }
    BrokerSnapshot snapshot() const { return m_thread->snapshot(); }
    bool evictWorker(const QByteArray& identity) { return m_thread->evictWorker(identity); }
    QString reloadKeys() { return m_thread->reloadKeys(); }
    // Lives on the broker's thread (see BrokerThread::broker()); null once stopped.
    Broker* broker() const { return m_thread->broker(); }
    void stop() { m_thread->stop(); }

    // A new broker on the endpoints the first one resolved, as after a process restart: peers
    // that stay connected see their connection drop and come back. Stops the old one if it
    // still runs (graceful shutdown: its waiting requests get BrokerShutdown).
    void restart()
    {
        BrokerConfig config = m_config;
        config.frontendEndpoints = m_thread->frontendEndpoints();
        config.backendEndpoints = m_thread->backendEndpoints();
        config.adminEndpoints = m_thread->adminEndpoints();
        m_thread->stop();
        // libzmq closes the old listening socket on its I/O thread after zmq_close() returns,
        // so the port can still be taken for a few milliseconds: retry the bind until it is
        // free (a real restart of the process has the same wait).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        for (;;) {
            m_thread = std::make_unique<BrokerThread>(config, m_context);
            try {
                m_thread->start();
                return;
            } catch (const BindError&) {
                if (std::chrono::steady_clock::now() > deadline) {
                    throw;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5)); // retry backoff
            }
        }
    }

private:
    zmq::context_t m_context;
    BrokerConfig m_config;
    std::unique_ptr<BrokerThread> m_thread;
};

} // namespace switchboard::test
