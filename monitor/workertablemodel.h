#pragma once

#include "fleetsnapshot.h"
#include "snapshottablemodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

#include <QColor>

namespace switchboard {

// The brokers' workers, one row per broker and routing identity, expired ones included for as
// long as their broker keeps reporting them.
class WorkerTableModel : public SnapshotTableModel<WorkerRow, WorkerTableModel> {
    Q_OBJECT
public:
    enum Column {
        Name,
        Service,
        Broker, // hidden while the window watches one broker
        State,
        Load,
        Method,
        BusyFor,
        Served,
        Errors,
        HeartbeatAge,
        LivenessLeft,
        Peer,
        Protocol,
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole =
            Qt::UserRole, // numbers as numbers; State by severity (idle < busy < late < expired)
        IdentityRole,     // QByteArray: what BrokerLink::evictWorker() takes
        StateRole,        // int(WorkerStats::State)
        BrokerRole,       // int: the index of the worker's broker in the BrokerFleet
    };

    using SnapshotTableModel::SnapshotTableModel;

    void update(const FleetSnapshot& fleet);
    // One broker's workers, as broker 0.
    void update(const BrokerSnapshot& snapshot);

    // The worker of a row of this model (not of a proxy), or nullptr.
    const WorkerRow* worker(int row) const;

    // The colour the State column shows each state in; text carries the same meaning.
    static QColor stateColor(WorkerStats::State state);

private:
    friend SnapshotTableModel;
    static CellValue value(const WorkerRow& worker, int column);
    QVariant cell(const WorkerRow& worker, int column, int role) const;
    static const ColumnHeader kColumnHeaders[ColumnCount]; // by Column
    static QString toolTip(const WorkerRow& worker);
};

} // namespace switchboard
