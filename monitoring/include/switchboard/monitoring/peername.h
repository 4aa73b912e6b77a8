#pragma once

#include <QByteArray>
#include <QString>

#include <algorithm>
#include <string_view>

namespace switchboard {

// A peer identity (or any frame) fit for a log line or the monitor, as snapshots name workers
// (WorkerStats::name): as text when every byte is printable ASCII, else as hex (libzmq's
// generated identities are 5 binary bytes).
inline QString peerName(std::string_view bytes)
{
    const bool text = std::all_of(bytes.begin(), bytes.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
    const QByteArray raw(bytes.data(), static_cast<qsizetype>(bytes.size()));
    return text ? QString::fromLatin1(raw) : QString::fromLatin1(raw.toHex());
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
