#pragma once

#include <switchboard/monitoring/brokersnapshot.h>

#include "snapshottablemodel.h"

namespace switchboard {

// The broker's events as they arrive, oldest first, bounded to the newest `capacity`. Each
// snapshot repeats the newest part of the broker's event ring; only events with a sequence
// beyond the last one seen are appended.
class EventLogModel : public SnapshotTableModel<BrokerEvent, EventLogModel> {
    Q_OBJECT
public:
    enum Column { Time, Kind, Service, Worker, Text, ColumnCount };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole, // Time as ms since the epoch, then by sequence
        SequenceRole,
        KindRole, // int(BrokerEvent::Kind)
    };

    static constexpr int kDefaultCapacity = 1000;

    using SnapshotTableModel::SnapshotTableModel;

    void update(const BrokerSnapshot& snapshot);

    int capacity() const { return m_capacity; }
    // Drops the oldest rows beyond the new capacity at once.
    void setCapacity(int capacity);

private:
    friend SnapshotTableModel;
    static CellValue value(const BrokerEvent& event, int column);
    QVariant cell(const BrokerEvent& event, int column, int role) const;
    static const ColumnHeader kColumnHeaders[ColumnCount]; // by Column

    void trimTo(int rows);

    int m_capacity = kDefaultCapacity;
    std::uint64_t m_lastSequence = 0;
    bool m_seenAny = false;
    std::int64_t m_lastUptimeMs = -1;
};

} // namespace switchboard
