#pragma once

#include "snapshottablemodel.h"

#include <switchboard/monitoring/brokersnapshot.h>

namespace switchboard {

// The broker's services, one row per name: how much waits, who serves it, how fast it goes.
class ServiceTableModel : public SnapshotTableModel {
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

    explicit ServiceTableModel(QObject* parent = nullptr);

    void update(const BrokerSnapshot& snapshot);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Requests queued and nobody to serve them: the one service state that needs an operator now.
    static bool isStarved(const ServiceStats& service);

private:
    QVector<ServiceStats> m_services;
};

} // namespace switchboard
