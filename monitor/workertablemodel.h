#pragma once

#include "snapshottablemodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

#include <QColor>

namespace switchboard {

// The broker's workers, one row per routing identity, expired ones included for as long as the
// broker keeps reporting them.
class WorkerTableModel : public SnapshotTableModel<WorkerStats, WorkerTableModel> {
    Q_OBJECT
public:
    enum Column {
        Name,
        Service,
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
    };

    using SnapshotTableModel::SnapshotTableModel;

    void update(const BrokerSnapshot& snapshot);

    // The worker of a row of this model (not of a proxy), or nullptr.
    const WorkerStats* worker(int row) const;

    // The colour the State column shows each state in; text carries the same meaning.
    static QColor stateColor(WorkerStats::State state);

private:
    friend SnapshotTableModel;
    CellValue value(const WorkerStats& worker, int column) const;
    QVariant cell(const WorkerStats& worker, int column, int role) const;
    static const ColumnHeader kColumnHeaders[ColumnCount]; // by Column
    QString toolTip(const WorkerStats& worker) const;

    int m_liveness = 0;
};

} // namespace switchboard
