#include "servicetablemodel.h"

#include "units.h"

#include <QBrush>

#include <utility>

namespace switchboard {

void ServiceTableModel::update(const FleetSnapshot& fleet)
{
    syncRows(fleet.services, [](const ServiceRow& s) { return std::pair(s.name, s.broker); });
}

void ServiceTableModel::update(const BrokerSnapshot& snapshot)
{
    FleetMember member;
    member.state = BrokerLink::State::Connected;
    member.last = snapshot;
    member.reporting = true;
    update(combine({member}));
}

bool ServiceTableModel::isStarved(const ServiceStats& service)
{
    return service.queueDepth > 0 && service.idleWorkers == 0 && service.busyWorkers == 0;
}

CellValue ServiceTableModel::value(const ServiceRow& service, int column)
{
    switch (column) {
    case Name:
        // One service's rows of several brokers together, in the brokers' order.
        return {service.name, service.name + QChar(0x1f) + QString::number(service.broker)};
    case Broker:
        return {service.brokerLabel};
    case QueueDepth:
        return countCell(service.queueDepth);
    case IdleWorkers:
        return countCell(service.idleWorkers);
    case BusyWorkers:
        return countCell(service.busyWorkers);
    case RequestsPerSecond:
        return rateCell(service.requestsPerSecond);
    case ErrorsPerSecond:
        return rateCell(service.errorsPerSecond);
    case Requests:
        return countCell(service.requests);
    case Errors:
        return countCell(service.errors);
    case Expired:
        return countCell(service.expired);
    default:
        return {};
    }
}

QVariant ServiceTableModel::cell(const ServiceRow& service, int column, int role) const
{
    switch (role) {
    case NameRole:
        return service.name;
    case BrokerRole:
        return service.broker;
    case Qt::TextAlignmentRole:
        return column == Name || column == Broker ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                                                  : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::BackgroundRole:
        if (column == QueueDepth && service.queueDepth > 0) {
            return QBrush(isStarved(service) ? QColor(0xef, 0x53, 0x50) : QColor(0xff, 0xb7, 0x4d));
        }
        return {};
    case Qt::ForegroundRole:
        if (column == QueueDepth && service.queueDepth > 0) {
            return QBrush(Qt::black);
        }
        if ((column == ErrorsPerSecond && service.errorsPerSecond > 0) ||
            (column == Expired && service.expired > 0)) {
            return QBrush(QColor(0xc6, 0x28, 0x28));
        }
        return {};
    case Qt::ToolTipRole:
        if (column == Broker) {
            return service.brokerName;
        }
        if (isStarved(service)) {
            return service.brokerName.isEmpty()
                       ? tr("%1 requests are waiting and %2 has no worker")
                             .arg(service.queueDepth)
                             .arg(service.name)
                       : tr("%1 requests are waiting and %2 has no worker on %3")
                             .arg(service.queueDepth)
                             .arg(service.name, service.brokerName);
        }
        return {};
    default:
        return {};
    }
}

// Titles and tooltips, by Column.
const ColumnHeader ServiceTableModel::kColumnHeaders[ColumnCount] = {
    {QT_TR_NOOP("Service")},
    {QT_TR_NOOP("Broker"), QT_TR_NOOP("The broker that holds this queue and these workers")},
    {QT_TR_NOOP("Queued"), QT_TR_NOOP("Requests waiting for a worker")},
    {QT_TR_NOOP("Idle"), QT_TR_NOOP("Workers waiting for a request")},
    {QT_TR_NOOP("Busy"), QT_TR_NOOP("Workers serving a request")},
    {QT_TR_NOOP("Req/s"), QT_TR_NOOP("Requests accepted per second, over the broker's window")},
    {QT_TR_NOOP("Err/s"), QT_TR_NOOP("Errors answered per second, over the broker's window")},
    {QT_TR_NOOP("Requests"), QT_TR_NOOP("Requests accepted since the broker started")},
    {QT_TR_NOOP("Errors"), QT_TR_NOOP("Errors answered since the broker started")},
    {QT_TR_NOOP("Expired"),
     QT_TR_NOOP("Requests answered Expired or ServiceUnavailable since the broker started")},
};

} // namespace switchboard
