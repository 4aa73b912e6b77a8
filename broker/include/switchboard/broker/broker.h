#pragma once

#include <switchboard/broker/brokerconfig.h>
#include <switchboard/broker/brokercounters.h>
#include <switchboard/monitoring/brokersnapshot.h>
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
    // With CURVE configured, also throws curve::KeyError for an unusable key file, and Error for
    // a missing authorized keys directory. With BrokerConfig::metricsAddress the HTTP listener
    // starts first, so /readyz says "starting" until every endpoint is bound.
    void start();

    // The endpoints actually bound, with wildcard ports resolved ("tcp://127.0.0.1:*" becomes
    // "tcp://127.0.0.1:41234"). Empty before start().
    QStringList frontendEndpoints() const;
    QStringList backendEndpoints() const;
    QStringList adminEndpoints() const;
    // The metrics listener's address with its real port ("127.0.0.1:41234"); empty without one.
    QString metricsAddress() const;

    const BrokerConfig& config() const noexcept;
    BrokerCounters counters() const;
    bool isShutDown() const noexcept;

    // Takes a snapshot now (the periodic one comes through snapshotReady()).
    BrokerSnapshot snapshot() const;

public Q_SLOTS:
    // An operator's eviction: sends the worker DISCONNECT and forgets it; a request it held goes
    // to another worker if the client marked it idempotent, else it is answered WorkerLost.
    // Logged as a WorkerEvicted event. Returns false if no worker has that
    // identity.
    bool evictWorker(const QByteArray& identity);

    // Graceful stop: stops taking requests, answers every queued and in-flight request with a
    // BrokerShutdown error, sends DISCONNECT to every worker, closes the sockets (letting what
    // was sent drain for up to a second) and emits shutDown(). Calling it again does nothing.
    void shutdown();

    // Re-reads BrokerConfig::authorizedKeysDirectory (SIGHUP does this in `switchboard`). New
    // connections are checked against the new set; established ones stay. Returns a summary
    // for the log, or an empty string when CURVE is off.
    QString reloadKeys();

Q_SIGNALS:
    void shutDown();
    // Every BrokerConfig::snapshotInterval while the broker serves.
    void snapshotReady(const switchboard::BrokerSnapshot& snapshot);

private:
    class Shell;
    std::unique_ptr<Shell> m_shell;
};

} // namespace switchboard
