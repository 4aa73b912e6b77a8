#include "methodtablemodel.h"

#include "units.h"

#include <QBrush>

#include <utility>

namespace switchboard {

namespace {

const LatencySummary& latency(const MethodStats& method)
{
    return method.window.total;
}

std::uint64_t percentile(const LatencySummary& summary, int column)
{
    switch (column) {
    case MethodTableModel::P50:
        return summary.p50Us;
    case MethodTableModel::P95:
        return summary.p95Us;
    case MethodTableModel::P99:
        return summary.p99Us;
    default:
        return summary.maxUs;
    }
}

bool isLatency(int column)
{
    return column == MethodTableModel::P50 || column == MethodTableModel::P95 ||
           column == MethodTableModel::P99 || column == MethodTableModel::Max;
}

QString latencyToolTip(const MethodStats& method)
{
    const auto line = [](const QString& what, const LatencySummary& s) {
        return MethodTableModel::tr("%1: p50 %2, p95 %3, p99 %4, max %5")
            .arg(what, units::fromMicroseconds(s.p50Us), units::fromMicroseconds(s.p95Us),
                 units::fromMicroseconds(s.p99Us), units::fromMicroseconds(s.maxUs));
    };
    if (method.window.total.count == 0) {
        return MethodTableModel::tr("No calls in the broker's window\n") +
               line(MethodTableModel::tr("since start"), method.sinceStart.total);
    }
    return MethodTableModel::tr("%1 calls in the broker's window\n")
               .arg(method.window.total.count) +
           line(MethodTableModel::tr("total"), method.window.total) + QLatin1Char('\n') +
           line(MethodTableModel::tr("queue wait"), method.window.queueWait) + QLatin1Char('\n') +
           line(MethodTableModel::tr("service time"), method.window.serviceTime);
}

} // namespace

MethodTableModel::MethodTableModel(QObject* parent)
    : SnapshotTableModel(parent)
{}

void MethodTableModel::update(const BrokerSnapshot& snapshot)
{
    syncRows(m_methods, snapshot.methods,
             [](const MethodStats& m) { return std::pair(m.service, m.method); });
}

QString MethodTableModel::displayName(const QString& method)
{
    return method.isEmpty() ? tr("(no method)") : method;
}

int MethodTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_methods.size());
}

int MethodTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MethodTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const MethodStats& method = m_methods[index.row()];
    const int column = index.column();
    const bool hasWindow = latency(method).count > 0;
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case Service:
            return method.service;
        case Method:
            return displayName(method.method);
        case Calls:
            return units::count(method.calls);
        case Errors:
            return units::count(method.errors);
        case P50:
        case P95:
        case P99:
        case Max:
            return hasWindow ? units::fromMicroseconds(percentile(latency(method), column))
                             : QStringLiteral("–");
        case CallsPerSecond:
            return units::rate(method.callsPerSecond);
        case ErrorsPerSecond:
            return units::rate(method.errorsPerSecond);
        default:
            return {};
        }
    case SortRole:
        switch (column) {
        case Service:
            return method.service;
        case Method:
            return method.method;
        case Calls:
            return static_cast<qulonglong>(method.calls);
        case Errors:
            return static_cast<qulonglong>(method.errors);
        case P50:
        case P95:
        case P99:
        case Max:
            return hasWindow ? static_cast<qlonglong>(percentile(latency(method), column))
                             : qlonglong{-1};
        case CallsPerSecond:
            return method.callsPerSecond;
        case ErrorsPerSecond:
            return method.errorsPerSecond;
        default:
            return {};
        }
    case ServiceRole:
        return method.service;
    case MethodRole:
        return method.method;
    case Qt::ToolTipRole:
        return isLatency(column) ? QVariant(latencyToolTip(method)) : QVariant();
    case Qt::TextAlignmentRole:
        return column == Service || column == Method ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                                                     : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::BackgroundRole:
        return staleBackground();
    case Qt::ForegroundRole:
        if (isStale()) {
            return staleForeground();
        }
        if ((column == Errors && method.errors > 0) ||
            (column == ErrorsPerSecond && method.errorsPerSecond > 0)) {
            return QBrush(QColor(0xc6, 0x28, 0x28));
        }
        return {};
    default:
        return {};
    }
}

QVariant MethodTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal) {
        return {};
    }
    if (role == Qt::DisplayRole) {
        switch (section) {
        case Service:
            return tr("Service");
        case Method:
            return tr("Method");
        case Calls:
            return tr("Calls");
        case Errors:
            return tr("Errors");
        case P50:
            return tr("p50");
        case P95:
            return tr("p95");
        case P99:
            return tr("p99");
        case Max:
            return tr("Max");
        case CallsPerSecond:
            return tr("Calls/s");
        case ErrorsPerSecond:
            return tr("Err/s");
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case Calls:
            return tr("Calls answered since the broker started");
        case Errors:
            return tr("Calls answered with an error since the broker started");
        case P50:
        case P95:
        case P99:
        case Max:
            return tr("Latency as the client saw it through the broker (queue wait + service "
                      "time), over the broker's window");
        case CallsPerSecond:
        case ErrorsPerSecond:
            return tr("Per second, over the broker's window");
        default:
            return {};
        }
    }
    return {};
}

} // namespace switchboard
