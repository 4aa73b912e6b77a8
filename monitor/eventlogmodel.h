#pragma once

#include <switchboard/monitoring/brokersnapshot.h>

#include "snapshottablemodel.h"

#include <QHash>

namespace switchboard {

// An event and the broker that wrote it.
struct EventRow : BrokerEvent {
    int broker = 0;
    QString brokerLabel; // as BrokerOrigin::brokerLabel

    bool operator==(const EventRow&) const = default;
};

// The broker's events as they arrive, oldest first, bounded to the newest `capacity`. Each
// snapshot repeats the newest part of the broker's event ring; only events with a sequence
// beyond the last one seen are appended.
class EventLogModel : public SnapshotTableModel<EventRow, EventLogModel> {
    Q_OBJECT
public:
    enum Column {
        Time,
        Kind,
        Broker, // hidden while the window watches one broker
        Service,
        Worker,
        Text,
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole, // Time as ms since the epoch, then by sequence
        SequenceRole,
        KindRole, // int(BrokerEvent::Kind)
    };

    static constexpr int kDefaultCapacity = 1000;

    using SnapshotTableModel::SnapshotTableModel;

    // `broker` tells the brokers of one window apart: each has its own sequence of events;
    // `brokerLabel` is what the Broker column shows for them.
    void update(const BrokerSnapshot& snapshot, int broker = 0, const QString& brokerLabel = {});

    int capacity() const { return m_capacity; }
    // Drops the oldest rows beyond the new capacity at once.
    void setCapacity(int capacity);

private:
    friend SnapshotTableModel;
    static CellValue value(const EventRow& event, int column);
    QVariant cell(const EventRow& event, int column, int role) const;
    static const ColumnHeader kColumnHeaders[ColumnCount]; // by Column

    void trimTo(int rows);

    // How far a broker's events have been read.
    struct Cursor {
        std::uint64_t lastSequence = 0;
        bool seenAny = false;
        std::int64_t lastUptimeMs = -1;
    };

    int m_capacity = kDefaultCapacity;
    QHash<int, Cursor> m_cursors; // by broker
};

} // namespace switchboard
