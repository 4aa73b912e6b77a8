#pragma once

#include "ratelimitedlog.h"

#include <switchboard/protocol/curvekey.h>
#include <switchboard/protocol/socketmonitor.h>
#include <switchboard/qtzmq/zmqsocketnotifier.h>

#include <QFileSystemWatcher>
#include <QObject>
#include <QString>
#include <QTimer>

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace switchboard {

// The broker's CURVE gate (ZeroMQ RFC 26 and RFC 27/ZAP): puts the broker's key pair on its
// ROUTER sockets, answers the ZAP requests libzmq makes for every handshake on them, and counts
// the handshakes that failed.
//
// Authorized public keys live in one directory, one certificate file per key (CZMQ's format,
// docs/SECURITY.md). A key directly in the directory may connect as anything; a key in its
// subdirectory clients/, workers/ or admin/ only to that endpoint, so a client key cannot
// register as a worker and take requests, nor evict workers. The directory is re-read on
// reload(), and by itself shortly after a file in it (or in a subdirectory) is added or removed.
// A key that is gone refuses new connections; connections made with it stay until they drop.
class CurveAuthenticator : public QObject {
    Q_OBJECT
public:
    enum class Role { Client, Worker, Admin, Count };

    // Reads the broker's key pair and the authorized keys. Throws curve::KeyError, or Error when
    // the directory does not exist.
    CurveAuthenticator(zmq::context_t& context, const QString& keyFile,
                       const QString& authorizedDirectory, QObject* parent = nullptr);
    ~CurveAuthenticator() override;

    // Binds the ZAP handler (inproc://zeromq.zap.01 on the context). Throws Error when another
    // one is bound there already, for instance a second CURVE broker on the same context.
    void start();
    // Who reads the socket monitor of a secured socket: libzmq keeps one monitor per socket, so
    // a caller that monitors the socket itself passes its failed handshakes on (onMonitorEvent).
    enum class Monitor { Own, Caller };
    // Makes `socket` a CURVE server for `role`, watched for failed handshakes. Before bind().
    void secure(zmq::socket_t& socket, Role role, Monitor monitor = Monitor::Own);
    // The events a caller's monitor must ask for, and what to do with one of them (other events
    // are ignored).
    static constexpr int kMonitorEvents =
        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    void onMonitorEvent(const SocketEvent& event) const { m_handshakeEvents.dispatch(event); }
    void close();

    // Re-reads the authorized directory; returns a line for the log ("12 keys: ...").
    QString reload();

    std::uint64_t refused() const noexcept { return m_refused; }
    std::uint64_t handshakesFailed() const noexcept { return m_handshakesFailed; }
    std::size_t keyCount() const noexcept;

private:
    void onZapRequest(Frames& frames);
    void onHandshakeFailed(const SocketEvent& event);
    void watchDirectories();

    zmq::context_t& m_context;
    curve::KeyPair m_serverKeys;
    QString m_directory;
    // Binary (32-byte) public keys per role; "any role" keys are copied into each.
    std::array<std::set<std::string>, static_cast<std::size_t>(Role::Count)> m_authorized;
    std::unique_ptr<ZmqSocketNotifier> m_zap;
    SocketMonitor m_handshakeEvents; // kMonitorEvents -> onHandshakeFailed()
    std::vector<std::unique_ptr<ZmqSocketNotifier>> m_monitors;
    std::vector<void*> m_monitored; // the sockets m_monitors watch, to stop them on close()
    Frames m_reply;
    QFileSystemWatcher m_watcher;
    QTimer m_reloadSoon;
    std::uint64_t m_refused = 0;
    std::uint64_t m_handshakesFailed = 0;
    RateLimitedLog m_refusedLog;
    RateLimitedLog m_failedLog;
};

} // namespace switchboard
