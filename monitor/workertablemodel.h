#pragma once

#include "snapshottablemodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

#include <QColor>

namespace switchboard {

// The broker's workers, one row per routing identity, expired ones included for as long as the
// broker keeps reporting them.
class WorkerTableModel : public SnapshotTableModel {
    Q_OBJECT
public:
    enum Column {
        Name,
        Service,
        State,
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

    explicit WorkerTableModel(QObject* parent = nullptr);

    void update(const BrokerSnapshot& snapshot);

    // The worker of a row of this model (not of a proxy), or nullptr.
    const WorkerStats* worker(int row) const;

    // The colour the State column shows each state in; text carries the same meaning.
    static QColor stateColor(WorkerStats::State state);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QVariant display(const WorkerStats& worker, int column) const;
    QVariant sortKey(const WorkerStats& worker, int column) const;
    QString toolTip(const WorkerStats& worker) const;

    QVector<WorkerStats> m_workers;
    int m_liveness = 0;
};

} // namespace switchboard
