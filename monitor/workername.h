#pragma once

#include <QByteArray>
#include <QString>

namespace switchboard {

// A routing id as the broker names it in snapshots (WorkerStats::name): the text when it is
// printable, else hex.
inline QString workerName(const QByteArray& identity)
{
    for (const char c : identity) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7f) {
            return QString::fromLatin1(identity.toHex());
        }
    }
    return QString::fromLatin1(identity);
}

} // namespace switchboard
