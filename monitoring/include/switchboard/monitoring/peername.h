#pragma once

#include <switchboard/protocol/printableidentity.h>

#include <QByteArray>
#include <QString>

#include <string_view>

namespace switchboard {

// A peer identity (or any frame) fit for a log line or the monitor, as snapshots name workers
// (WorkerStats::name): printableIdentity() as a QString.
inline QString peerName(std::string_view bytes)
{
    return QString::fromStdString(printableIdentity(bytes));
}

inline QString peerName(const QByteArray& identity)
{
    return peerName(
        std::string_view(identity.constData(), static_cast<std::size_t>(identity.size())));
}

inline QString fromUtf8(std::string_view bytes)
{
    return QString::fromUtf8(bytes.data(), static_cast<qsizetype>(bytes.size()));
}

} // namespace switchboard
