#pragma once

#include <switchboard/monitoring/brokersnapshot.h>

#include <QAbstractTableModel>
#include <QVector>

namespace switchboard {

// The broker's events as they arrive, oldest first, bounded to the newest `capacity`. Each
// snapshot repeats the newest part of the broker's event ring; only events with a sequence
// beyond the last one seen are appended.
class EventLogModel : public QAbstractTableModel {
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

    explicit EventLogModel(QObject* parent = nullptr);

    void update(const BrokerSnapshot& snapshot);

    int capacity() const { return m_capacity; }
    // Drops the oldest rows beyond the new capacity at once.
    void setCapacity(int capacity);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    void trimTo(int rows);

    QVector<BrokerEvent> m_events;
    int m_capacity = kDefaultCapacity;
    std::uint64_t m_lastSequence = 0;
    bool m_seenAny = false;
    std::int64_t m_lastUptimeMs = -1;
};

} // namespace switchboard
