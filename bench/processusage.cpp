#include "processusage.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QList>
#include <QString>

namespace switchboard::bench {

std::chrono::nanoseconds processCpuTime(qint64 pid)
{
    std::chrono::nanoseconds total{0};
    const QDir tasks(QStringLiteral("/proc/%1/task").arg(pid));
    for (const QString& task : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile schedstat(tasks.filePath(task + QStringLiteral("/schedstat")));
        if (schedstat.open(QIODevice::ReadOnly)) {
            total += std::chrono::nanoseconds(schedstat.readAll().split(' ').value(0).toLongLong());
        }
    }
    return total;
}

std::uint64_t processMinorFaults(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly)) {
        return 0;
    }
    // "pid (comm) state ppid ... minflt ...": comm may hold spaces, so count from its ')'.
    const QByteArray line = stat.readAll();
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    return fields.value(7).toULongLong(); // field 10 of the whole line
}

std::size_t processRssBytes(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly)) {
        return 0;
    }
    // "VmRSS:	   51234 kB"
    for (const QByteArray& line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:")) {
            return static_cast<std::size_t>(
                       line.mid(6).trimmed().split(' ').value(0).toULongLong()) *
                   1024;
        }
    }
    return 0;
}

} // namespace switchboard::bench
