#pragma once

#include "fleetsnapshot.h"
#include "snapshottablemodel.h"

namespace switchboard {

// The brokers a window watches, one row each: whether it is up (or down since when), how long it
// has run, its release and how busy it is.
class BrokerTableModel : public SnapshotTableModel<BrokerStatus, BrokerTableModel> {
    Q_OBJECT
public:
    enum Column {
        Broker,
        State,
        Uptime,
        Version,
        RequestsPerSecond,
        ErrorsPerSecond,
        Requests,
        Errors,
        Workers,
        Note, // what else an operator should know about it
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole, // numbers as numbers; State: up before down
        BrokerRole,              // int: the broker's index in the fleet
    };

    using SnapshotTableModel::SnapshotTableModel;

    void update(const FleetSnapshot& fleet);

    // "up", "down since 14:03:12", "connecting", ...: what the State column says.
    static QString stateText(const BrokerStatus& broker);
    static QString note(const BrokerStatus& broker);

private:
    friend SnapshotTableModel;
    static CellValue value(const BrokerStatus& broker, int column);
    QVariant cell(const BrokerStatus& broker, int column, int role) const;
    static const ColumnHeader kColumnHeaders[ColumnCount]; // by Column
};

} // namespace switchboard
