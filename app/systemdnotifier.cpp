#include "systemdnotifier.h"

#include <QLoggingCategory>
#include <QObject>
#include <QTimer>

#include <cstring>
#include <systemd/sd-daemon.h>

namespace switchboard {

namespace {

Q_LOGGING_CATEGORY(lcSystemd, "switchboard.systemd")

// sd_notify() returns > 0 when sent, 0 without NOTIFY_SOCKET and a negative errno otherwise.
// A lost notification is not fatal to routing, but the operator must learn why systemd will
// time the unit out.
void send(const QByteArray& state)
{
    const int result = sd_notify(0, state.constData());
    if (result < 0) {
        qCWarning(lcSystemd,
                  "could not tell systemd \"%s\" through NOTIFY_SOCKET (%s); check "
                  "that the unit's NotifyAccess= lets the main process notify",
                  state.left(state.indexOf('\n')).constData(), std::strerror(-result));
    }
}

} // namespace

SystemdNotifier::SystemdNotifier()
    : m_active(!qEnvironmentVariableIsEmpty("NOTIFY_SOCKET"))
{
    // Not unsetting the variables: the pings come later, from this same process.
    uint64_t usec = 0;
    if (m_active && sd_watchdog_enabled(0, &usec) > 0) {
        // Half the timeout, as sd_watchdog_enabled(3) advises, so one late ping is not a restart.
        m_watchdogInterval =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::microseconds(usec)) /
            2;
        if (m_watchdogInterval.count() < 1) {
            m_watchdogInterval = std::chrono::milliseconds(1);
        }
    }
}

void SystemdNotifier::notifyReady(const QString& status)
{
    if (!m_active) {
        return;
    }
    // One datagram, so that systemd shows the status the moment the unit turns active; a
    // newline would end the STATUS= assignment.
    QString line = status;
    line.replace(QLatin1Char('\n'), QLatin1String("; "));
    send("READY=1\nSTATUS=" + line.toUtf8());
}

void SystemdNotifier::notifyStopping()
{
    if (!m_active || m_stopping) {
        return;
    }
    m_stopping = true;
    send("STOPPING=1\nSTATUS=shutting down: answering the waiting requests");
}

void SystemdNotifier::startWatchdog(QObject& loopOwner)
{
    if (m_watchdogInterval.count() == 0) {
        return;
    }
    // Created on the owner's thread and parented to it: a timer of the main thread would go on
    // pinging while the routing loop hangs, which is what the watchdog is there to catch.
    const auto interval = m_watchdogInterval;
    QMetaObject::invokeMethod(&loopOwner, [owner = &loopOwner, interval] {
        auto* timer = new QTimer(owner);
        timer->setTimerType(Qt::PreciseTimer);
        QObject::connect(timer, &QTimer::timeout, timer, [] { send("WATCHDOG=1"); });
        timer->start(interval);
        send("WATCHDOG=1");
    });
    qCInfo(lcSystemd, "watchdog: pinging systemd every %lld ms from the broker's event loop",
           static_cast<long long>(interval.count()));
}

} // namespace switchboard
