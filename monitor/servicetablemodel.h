#pragma once

#include "fleetsnapshot.h"
#include "snapshottablemodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

namespace switchboard {

// The brokers' services, one row per name and broker: how much waits, who serves it, how fast it
// goes. Not merged across brokers: a request queued on one broker cannot go to an idle worker of
// another, so "3 queued, 2 idle" summed would hide the broker whose queue has nobody to serve it.
class ServiceTableModel : public SnapshotTableModel<ServiceRow, ServiceTableModel> {
    Q_OBJECT
public:
    enum Column {
        Name,
        Broker, // hidden while the window watches one broker
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
        BrokerRole,              // int: the index of its broker in the BrokerFleet
    };

    using SnapshotTableModel::SnapshotTableModel;

    void update(const FleetSnapshot& fleet);
    // One broker's services, as broker 0.
    void update(const BrokerSnapshot& snapshot);

    // Requests queued and nobody to serve them: the one service state that needs an operator now.
    static bool isStarved(const ServiceStats& service);

private:
    friend SnapshotTableModel;
    static CellValue value(const ServiceRow& service, int column);
    QVariant cell(const ServiceRow& service, int column, int role) const;
    static const ColumnHeader kColumnHeaders[ColumnCount]; // by Column
};

} // namespace switchboard
