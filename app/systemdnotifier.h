#pragma once

#include <QString>

#include <chrono>

class QObject;

namespace switchboard {

// The broker's side of systemd's Type=notify protocol (sd_notify(3)): READY=1 once every endpoint
// is bound, STOPPING=1 when the graceful shutdown begins, and WATCHDOG=1 pings from the broker's
// own event loop. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
class SystemdNotifier {
public:
    // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID once.
    SystemdNotifier();

    // True when a service manager listens (NOTIFY_SOCKET is set).
    bool isActive() const noexcept { return m_active; }
    // Half of WATCHDOG_USEC, or zero when the unit has no WatchdogSec=.
    std::chrono::milliseconds watchdogInterval() const noexcept { return m_watchdogInterval; }

    // READY=1 with STATUS=<status>.
    void notifyReady(const QString& status);
    // STOPPING=1; a second call sends nothing.
    void notifyStopping();
    // Pings WATCHDOG=1 every watchdogInterval() from a timer that lives on `loopOwner`'s thread
    // and dies with it, so the pings stop when that event loop stalls. Does nothing without a
    // watchdog.
    void startWatchdog(QObject& loopOwner);

private:
    bool m_active = false;
    bool m_stopping = false;
    std::chrono::milliseconds m_watchdogInterval{0};
};

} // namespace switchboard
