#include "brokertablemodel.h"

#include "units.h"

#include <QBrush>
#include <QDateTime>

namespace switchboard {

void BrokerTableModel::update(const FleetSnapshot& fleet)
{
    syncRows(fleet.brokers, [](const BrokerStatus& b) { return b.broker; });
}

QString BrokerTableModel::stateText(const BrokerStatus& broker)
{
    if (broker.up) {
        return tr("up");
    }
    const QString since = broker.downSinceMs > 0
                              ? QDateTime::fromMSecsSinceEpoch(broker.downSinceMs)
                                    .toString(QStringLiteral("HH:mm:ss"))
                              : QString();
    switch (broker.state) {
    case BrokerLink::State::Incompatible:
        return tr("unreadable");
    case BrokerLink::State::Connecting:
        if (!broker.seen) {
            return tr("connecting");
        }
        [[fallthrough]];
    case BrokerLink::State::Connected:
    case BrokerLink::State::Disconnected:
        return since.isEmpty() ? tr("down") : tr("down since %1").arg(since);
    }
    return {};
}

QString BrokerTableModel::note(const BrokerStatus& broker)
{
    if (broker.state == BrokerLink::State::Incompatible) {
        return broker.problem;
    }
    if (!broker.up && broker.seen) {
        return tr("its rows show what it last reported, greyed; not in the totals");
    }
    if (!broker.seen) {
        return tr("no snapshot yet");
    }
    if (!broker.histograms) {
        return tr("an older broker: its latencies are shown apart, not merged");
    }
    return {};
}

CellValue BrokerTableModel::value(const BrokerStatus& broker, int column)
{
    const bool known = broker.seen;
    switch (column) {
    case Broker:
        return {broker.name};
    case State:
        // Down first when sorted descending would hide them; up sorts first ascending.
        return {stateText(broker), broker.up ? 0 : broker.seen ? 2 : 1};
    case Uptime:
        return known ? CellValue{units::span(broker.uptimeMs), qlonglong{broker.uptimeMs}}
                     : CellValue{QStringLiteral("–"), qlonglong{-1}};
    case Version:
        return {known ? broker.version : QString()};
    case RequestsPerSecond:
        return rateCell(broker.requestsPerSecond);
    case ErrorsPerSecond:
        return rateCell(broker.errorsPerSecond);
    case Requests:
        return countCell(broker.requests);
    case Errors:
        return countCell(broker.errors);
    case Workers:
        return countCell(static_cast<std::uint64_t>(broker.workers));
    case Note:
        return {note(broker)};
    default:
        return {};
    }
}

QVariant BrokerTableModel::cell(const BrokerStatus& broker, int column, int role) const
{
    switch (role) {
    case BrokerRole:
        return broker.broker;
    case Qt::TextAlignmentRole:
        switch (column) {
        case Broker:
        case Version:
        case Note:
            return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
        case State:
            return QVariant(Qt::AlignCenter);
        default:
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        }
    case Qt::BackgroundRole:
        if (column == State) {
            if (broker.up) {
                return QBrush(QColor(0xa5, 0xd6, 0xa7));
            }
            return QBrush(broker.seen || broker.state == BrokerLink::State::Incompatible
                              ? QColor(0xef, 0x53, 0x50)
                              : QColor(0xff, 0xb7, 0x4d));
        }
        if (!broker.up) {
            return staleBackground();
        }
        return {};
    case Qt::ForegroundRole:
        if (column == State) {
            return QBrush(Qt::black);
        }
        if (!broker.up) {
            return staleForeground();
        }
        if ((column == ErrorsPerSecond && broker.errorsPerSecond > 0)) {
            return QBrush(QColor(0xc6, 0x28, 0x28));
        }
        return {};
    case Qt::ToolTipRole:
        if (broker.state == BrokerLink::State::Incompatible) {
            return broker.problem;
        }
        if (!broker.histograms) {
            return tr("An older broker: it reports latency percentiles without their histograms, "
                      "so its methods are shown apart, not merged with other brokers'");
        }
        if (!broker.up && broker.seen) {
            return tr("Its rows show what it last reported, greyed");
        }
        return {};
    default:
        return {};
    }
}

// Titles and tooltips, by Column.
const ColumnHeader BrokerTableModel::kColumnHeaders[ColumnCount] = {
    {QT_TR_NOOP("Broker"), QT_TR_NOOP("The broker's admin endpoint")},
    {QT_TR_NOOP("State")},
    {QT_TR_NOOP("Uptime")},
    {QT_TR_NOOP("Version")},
    {QT_TR_NOOP("Req/s"), QT_TR_NOOP("Requests accepted per second, over the broker's window")},
    {QT_TR_NOOP("Err/s"), QT_TR_NOOP("Errors answered per second, over the broker's window")},
    {QT_TR_NOOP("Requests"), QT_TR_NOOP("Requests accepted since the broker started")},
    {QT_TR_NOOP("Errors"), QT_TR_NOOP("Errors answered since the broker started")},
    {QT_TR_NOOP("Workers"), QT_TR_NOOP("Workers connected now")},
    {QT_TR_NOOP("Note")},
};

} // namespace switchboard
