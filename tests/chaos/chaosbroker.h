#pragma once

#include "switchboardprocess.h"

#include <QElapsedTimer>
#include <QString>
#include <QStringList>

#include <chrono>
#include <memory>

// Where a chaos broker runs: by default on this machine's loopback; tests/multihost puts it on
// a host of its own ("ip netns exec HOST" and that host's address). Outside ChaosBroker because
// a default argument of its constructor cannot use a nested class's member initializers.
struct BrokerPlacement {
    QStringList launcher;
    QString host = QStringLiteral("127.0.0.1");
};

// The broker of the chaos run: `switchboard --no-gui` as a child process, first on wildcard tcp
// endpoints, then restarted on the ports it got, so that clients and workers find it again
// where they left it. Its log (stderr) goes to one file across restarts.
class ChaosBroker {
public:
    // How a restart stops the old broker.
    enum class Stop {
        Terminate, // SIGTERM: a deployment. It answers what it holds BrokerShutdown and exits.
        Kill,      // SIGKILL: a crash. Whatever it held vanishes with it.
    };

    ChaosBroker(QString program, QString logFile, std::chrono::milliseconds heartbeat, int liveness,
                BrokerPlacement placement = {});
    ~ChaosBroker();

    ChaosBroker(const ChaosBroker&) = delete;
    ChaosBroker& operator=(const ChaosBroker&) = delete;

    // False, and problems() says why, if it does not announce itself ready in time.
    bool start();
    // Stops the broker as `how` says and starts a new one on the same endpoints. A SIGTERM must
    // end it with exit code 0. downtime() is then the time from the signal to the new broker's
    // "ready" line.
    bool restart(Stop how);
    // SIGKILL, and nothing started in its place until start() again on the same endpoints.
    bool kill();
    // After kill(): a new broker on the endpoints the old one had.
    bool restartKilled();
    // SIGTERM; true if it exits with code 0 in time.
    bool stop();
    // False once the broker has exited without being asked to.
    bool isRunning();

    QString frontend() const { return m_frontend; }
    QString backend() const { return m_backend; }
    std::chrono::milliseconds downtime() const noexcept { return m_downtime; }
    const QStringList& problems() const noexcept { return m_problems; }
    // The end of the broker's log, for a failure message.
    QString logTail() const;

private:
    bool launch(const QString& frontend, const QString& backend);
    bool terminate(const char* when);

    QString m_program;
    BrokerPlacement m_placement;
    QString m_logFile;
    std::chrono::milliseconds m_heartbeat;
    int m_liveness;
    std::unique_ptr<SwitchboardProcess> m_process;
    QString m_frontend;
    QString m_backend;
    std::chrono::milliseconds m_downtime{0};
    QElapsedTimer m_down; // since the old broker was stopped
    QStringList m_problems;
};
