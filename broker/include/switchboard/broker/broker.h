#pragma once

#include <switchboard/broker/brokerconfig.h>
#include <switchboard/broker/brokercounters.h>
#include <switchboard/protocol/error.h>

#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>

namespace zmq {
class context_t;
}

namespace switchboard {

// An endpoint that could not be bound (in use, malformed, unsupported transport).
class BindError : public Error {
public:
    BindError(QString endpoint, QString reason);
    const QString& endpoint() const noexcept { return m_endpoint; }
    const QString& reason() const noexcept { return m_reason; }

private:
    QString m_endpoint;
    QString m_reason;
};

// A Majordomo broker (7/MDP and 18/MDP, with 8/MMI) that runs on the event loop of the thread it
// lives in. Clients and workers in any language that speak MDP work with it unchanged.
class Broker : public QObject {
    Q_OBJECT
public:
    Broker(BrokerConfig config, zmq::context_t& context, QObject* parent = nullptr);
    ~Broker() override;

    // Binds every endpoint and starts serving. Throws BindError; nothing stays bound on failure.
    void start();

    // The endpoints actually bound, with wildcard ports resolved ("tcp://127.0.0.1:*" becomes
    // "tcp://127.0.0.1:41234"). Empty before start().
    QStringList frontendEndpoints() const;
    QStringList backendEndpoints() const;

    const BrokerConfig& config() const noexcept;
    BrokerCounters counters() const;
    bool isShutDown() const noexcept;

public Q_SLOTS:
    // Graceful stop: stops taking requests, answers every queued and in-flight request with a
    // BrokerShutdown error, sends DISCONNECT to every worker, closes the sockets (letting what
    // was sent drain for up to a second) and emits shutDown(). Calling it again does nothing.
    void shutdown();

Q_SIGNALS:
    void shutDown();

private:
    class Router;
    std::unique_ptr<Router> m_router;
};

} // namespace switchboard
