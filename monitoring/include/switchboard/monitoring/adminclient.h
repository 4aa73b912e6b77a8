#pragma once

#include <switchboard/monitoring/brokersnapshot.h>
#include <switchboard/protocol/curvekey.h>

#include <QObject>
#include <QString>

#include <chrono>
#include <memory>

namespace zmq {
class context_t;
}

namespace switchboard {

// The operator's side of a broker's admin endpoint (docs/PROTOCOL.md, "Admin protocol"), on the
// Qt event loop of the thread it lives in. It asks for a snapshot every `pollInterval` and
// emits each one; when the broker does not answer within `timeout` it says so
// (connectedChanged(false)), drops the socket and keeps trying with a new one, so that a
// restarted broker is picked up by itself.
class AdminClient : public QObject {
    Q_OBJECT
public:
    struct Options {
        std::chrono::milliseconds pollInterval{500};
        std::chrono::milliseconds timeout{2000};
        // The broker's public key and this tool's key pair when the broker uses CURVE.
        curve::ClientCredentials curve;
    };

    AdminClient(QString endpoint, zmq::context_t& context, Options options,
                QObject* parent = nullptr);
    AdminClient(QString endpoint, zmq::context_t& context, QObject* parent = nullptr);
    ~AdminClient() override;

    const QString& endpoint() const noexcept;
    // Whether the last request was answered in time.
    bool isConnected() const noexcept;

    // Starts polling. Until then nothing is sent. Throws switchboard::Error for an endpoint
    // libzmq cannot connect to (malformed, unknown transport).
    void start();

    // Asks the broker to evict a worker; the answer comes as evictFinished().
    void evictWorker(const QByteArray& identity);

Q_SIGNALS:
    void snapshotReceived(const switchboard::BrokerSnapshot& snapshot);
    // On every change, and also when the very first request goes unanswered, so that a broker
    // that was never reachable is reported as such.
    void connectedChanged(bool connected);
    // The broker answers, but in a snapshot format this client does not read (a broker of an
    // older or newer release): message starts "incompatible broker version". Emitted once per
    // such broker; polling goes on, so an upgraded broker is picked up by itself.
    void brokerIncompatible(const QString& message);
    // ok is false when the broker refused (no such worker) or did not answer; message says why.
    void evictFinished(const QByteArray& identity, bool ok, const QString& message);

private:
    class Connection;
    std::unique_ptr<Connection> m_connection;
};

} // namespace switchboard
