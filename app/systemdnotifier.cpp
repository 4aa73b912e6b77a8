#include "systemdnotifier.h"

#include <QLoggingCategory>
#include <QObject>
#include <QTimer>

#include <atomic>
#include <systemd/sd-daemon.h>

namespace switchboard {

namespace {

Q_LOGGING_CATEGORY(lcSystemd, "switchboard.systemd")

// sd_notify() returns > 0 when sent, 0 without NOTIFY_SOCKET and a negative errno otherwise. A
// lost notification does not stop routing, but the operator must learn why systemd times the
// unit out or restarts it; once is enough, the pings would repeat it every few seconds. Called
// from the main thread and the broker's.
void send(const QByteArray& state)
{
    static std::atomic_flag warned;
    const int result = sd_notify(0, state.constData());
    if (result < 0 && !warned.test_and_set()) {
        qCWarning(lcSystemd,
                  "could not send \"%s\" to systemd through NOTIFY_SOCKET=%s (%s): systemd may "
                  "time the broker out or restart it; check that the unit has NotifyAccess=main "
                  "(further failures are not logged)",
                  state.split('\n').first().constData(), qgetenv("NOTIFY_SOCKET").constData(),
                  qPrintable(qt_error_string(-result)));
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
        QObject::connect(timer, &QTimer::timeout, timer, [] { send("WATCHDOG=1"); });
        timer->start(interval);
        send("WATCHDOG=1");
    });
    qCInfo(lcSystemd, "watchdog: pinging systemd every %lld ms from the broker's event loop",
           static_cast<long long>(interval.count()));
}

} // namespace switchboard
