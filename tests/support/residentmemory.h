#pragma once

#include <QByteArray>
#include <QFile>
#include <QString>
#include <QtGlobal>

// VmRSS of a process in KiB, from /proc/<pid>/status; 0 if it cannot be read. Tests that bound
// the broker's memory read its child process with it.
inline qint64 residentKiB(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly)) {
        return 0;
    }
    for (const QByteArray& line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:")) {
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
        }
    }
    return 0;
}

// Under AddressSanitizer a child broker keeps up to 256 MiB of freed memory in quarantine, which a
// memory bound would measure instead of the broker's queues: children started after this call
// keep 8 MiB.
inline void limitChildSanitizerQuarantine()
{
    const QByteArray asan = qgetenv("ASAN_OPTIONS");
    qputenv("ASAN_OPTIONS", asan + (asan.isEmpty() ? "" : ":") + "quarantine_size_mb=8");
}
