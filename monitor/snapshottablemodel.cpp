#include "snapshottablemodel.h"

#include <QBrush>
#include <QColor>

namespace switchboard {

void SnapshotTableModel::setStale(bool stale)
{
    if (m_stale == stale) {
        return;
    }
    m_stale = stale;
    if (rowCount() > 0) {
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1),
                           {Qt::ForegroundRole, Qt::BackgroundRole});
    }
}

QVariant SnapshotTableModel::staleForeground() const
{
    if (!m_stale) {
        return {};
    }
    return QBrush(QColor(0x9e, 0x9e, 0x9e));
}

QVariant SnapshotTableModel::staleBackground() const
{
    if (!m_stale) {
        return {};
    }
    return QBrush(QColor(0xee, 0xee, 0xee));
}

} // namespace switchboard
