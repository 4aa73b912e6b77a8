#pragma once

#include "fleetsnapshot.h"
#include "snapshottablemodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

namespace switchboard {

// One row per (service, method): calls, errors and the latency percentiles of the broker's
// window, as the client saw them (queue wait plus service time). Of several brokers, a method
// they all serve is one row: counts summed, percentiles of their merged histograms. An older
// broker's row, which has percentiles but no histogram, stays apart and says so.
class MethodTableModel : public SnapshotTableModel<MethodRow, MethodTableModel> {
    Q_OBJECT
public:
    enum Column {
        Service,
        Method,
        Broker, // hidden while the window watches one broker
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
        UnmergedRole, // bool: an older broker's own percentiles, not merged with the others'
    };

    using SnapshotTableModel::SnapshotTableModel;

    void update(const FleetSnapshot& fleet);
    // One broker's methods.
    void update(const BrokerSnapshot& snapshot);

    // How a method is named to the operator, here and in the charts' legends.
    static QString displayName(const QString& method);

private:
    friend SnapshotTableModel;
    static CellValue value(const MethodRow& method, int column);
    QVariant cell(const MethodRow& method, int column, int role) const;
    static const ColumnHeader kColumnHeaders[ColumnCount]; // by Column
};

} // namespace switchboard
