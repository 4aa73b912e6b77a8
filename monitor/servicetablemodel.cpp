#include "servicetablemodel.h"

#include "units.h"

#include <QBrush>

namespace switchboard {

ServiceTableModel::ServiceTableModel(QObject* parent)
    : SnapshotTableModel(parent)
{}

void ServiceTableModel::update(const BrokerSnapshot& snapshot)
{
    syncRows(m_services, snapshot.services, [](const ServiceStats& s) { return s.name; });
}

bool ServiceTableModel::isStarved(const ServiceStats& service)
{
    return service.queueDepth > 0 && service.idleWorkers == 0 && service.busyWorkers == 0;
}

int ServiceTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_services.size());
}

int ServiceTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ServiceTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const ServiceStats& service = m_services[index.row()];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case Name:
            return service.name;
        case QueueDepth:
            return units::count(service.queueDepth);
        case IdleWorkers:
            return units::count(service.idleWorkers);
        case BusyWorkers:
            return units::count(service.busyWorkers);
        case RequestsPerSecond:
            return units::rate(service.requestsPerSecond);
        case ErrorsPerSecond:
            return units::rate(service.errorsPerSecond);
        case Requests:
            return units::count(service.requests);
        case Errors:
            return units::count(service.errors);
        case Expired:
            return units::count(service.expired);
        default:
            return {};
        }
    case SortRole:
        switch (column) {
        case Name:
            return service.name;
        case QueueDepth:
            return static_cast<qulonglong>(service.queueDepth);
        case IdleWorkers:
            return static_cast<qulonglong>(service.idleWorkers);
        case BusyWorkers:
            return static_cast<qulonglong>(service.busyWorkers);
        case RequestsPerSecond:
            return service.requestsPerSecond;
        case ErrorsPerSecond:
            return service.errorsPerSecond;
        case Requests:
            return static_cast<qulonglong>(service.requests);
        case Errors:
            return static_cast<qulonglong>(service.errors);
        case Expired:
            return static_cast<qulonglong>(service.expired);
        default:
            return {};
        }
    case NameRole:
        return service.name;
    case Qt::TextAlignmentRole:
        return column == Name ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                              : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::BackgroundRole:
        if (isStale()) {
            return staleBackground();
        }
        if (column == QueueDepth && service.queueDepth > 0) {
            return QBrush(isStarved(service) ? QColor(0xef, 0x53, 0x50) : QColor(0xff, 0xb7, 0x4d));
        }
        return {};
    case Qt::ForegroundRole:
        if (isStale()) {
            return staleForeground();
        }
        if (column == QueueDepth && service.queueDepth > 0) {
            return QBrush(Qt::black);
        }
        if ((column == ErrorsPerSecond && service.errorsPerSecond > 0) ||
            (column == Expired && service.expired > 0)) {
            return QBrush(QColor(0xc6, 0x28, 0x28));
        }
        return {};
    case Qt::ToolTipRole:
        if (isStarved(service)) {
            return tr("%1 requests are waiting and %2 has no worker")
                .arg(service.queueDepth)
                .arg(service.name);
        }
        return {};
    default:
        return {};
    }
}

QVariant ServiceTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal) {
        return {};
    }
    if (role == Qt::DisplayRole) {
        switch (section) {
        case Name:
            return tr("Service");
        case QueueDepth:
            return tr("Queued");
        case IdleWorkers:
            return tr("Idle");
        case BusyWorkers:
            return tr("Busy");
        case RequestsPerSecond:
            return tr("Req/s");
        case ErrorsPerSecond:
            return tr("Err/s");
        case Requests:
            return tr("Requests");
        case Errors:
            return tr("Errors");
        case Expired:
            return tr("Expired");
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case QueueDepth:
            return tr("Requests waiting for a worker");
        case IdleWorkers:
            return tr("Workers waiting for a request");
        case BusyWorkers:
            return tr("Workers serving a request");
        case RequestsPerSecond:
            return tr("Requests accepted per second, over the broker's window");
        case ErrorsPerSecond:
            return tr("Errors answered per second, over the broker's window");
        case Requests:
            return tr("Requests accepted since the broker started");
        case Errors:
            return tr("Errors answered since the broker started");
        case Expired:
            return tr("Requests answered Expired or ServiceUnavailable since the broker started");
        default:
            return {};
        }
    }
    return {};
}

} // namespace switchboard
