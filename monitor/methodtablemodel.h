#pragma once

#include "snapshottablemodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

namespace switchboard {

// One row per (service, method): calls, errors and the latency percentiles of the broker's
// window, as the client saw them (queue wait plus service time).
class MethodTableModel : public SnapshotTableModel {
    Q_OBJECT
public:
    enum Column {
        Service,
        Method,
        Calls,
        Errors,
        P50,
        P95,
        P99,
        Max,
        CallsPerSecond,
        ErrorsPerSecond,
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole, // numbers as numbers; latencies in µs, -1 without calls
        ServiceRole,
        MethodRole,
    };

    explicit MethodTableModel(QObject* parent = nullptr);

    void update(const BrokerSnapshot& snapshot);

    // How a method is named to the operator, here and in the charts' legends.
    static QString displayName(const QString& method);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QVector<MethodStats> m_methods;
};

} // namespace switchboard
