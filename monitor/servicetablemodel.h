#pragma once

#include "snapshottablemodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

namespace switchboard {

// The broker's services, one row per name: how much waits, who serves it, how fast it goes.
class ServiceTableModel : public SnapshotTableModel<ServiceStats, ServiceTableModel> {
    Q_OBJECT
public:
    enum Column {
        Name,
        QueueDepth,
        IdleWorkers,
        BusyWorkers,
        RequestsPerSecond,
        ErrorsPerSecond,
        Requests,
        Errors,
        Expired,
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole, // numbers as numbers
        NameRole,                // the service name, whatever the column
    };

    using SnapshotTableModel::SnapshotTableModel;

    void update(const BrokerSnapshot& snapshot);

    // Requests queued and nobody to serve them: the one service state that needs an operator now.
    static bool isStarved(const ServiceStats& service);

private:
    friend SnapshotTableModel;
    static CellValue value(const ServiceStats& service, int column);
    QVariant cell(const ServiceStats& service, int column, int role) const;
    static const ColumnHeader kColumnHeaders[ColumnCount]; // by Column
};

} // namespace switchboard
