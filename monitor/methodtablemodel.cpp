#include "methodtablemodel.h"

#include "units.h"

#include <QBrush>
#include <QFont>

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

QString latencyToolTip(const MethodRow& method)
{
    const auto line = [](const QString& what, const LatencySummary& s) {
        return MethodTableModel::tr("%1: p50 %2, p95 %3, p99 %4, max %5")
            .arg(what, units::fromMicroseconds(s.p50Us), units::fromMicroseconds(s.p95Us),
                 units::fromMicroseconds(s.p99Us), units::fromMicroseconds(s.maxUs));
    };
    if (method.unmerged) {
        return MethodTableModel::tr("%1 is an older broker: it reports percentiles without their "
                                    "histogram, so its calls are shown apart, not merged with "
                                    "the other brokers'\n")
                   .arg(method.brokers.value(0)) +
               line(MethodTableModel::tr("total"), method.window.total);
    }
    if (!method.parts.isEmpty()) {
        QString text =
            MethodTableModel::tr("%1 calls in the brokers' windows, merged from %2 brokers:\n")
                .arg(method.window.total.count)
                .arg(method.parts.size()) +
            line(MethodTableModel::tr("all"), method.window.total);
        for (const MethodPart& part : method.parts) {
            text += QLatin1Char('\n') + line(MethodTableModel::tr("%1 (%2 calls)")
                                                 .arg(part.brokerName)
                                                 .arg(part.window.count),
                                             part.window);
        }
        return text;
    }
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

void MethodTableModel::update(const FleetSnapshot& fleet)
{
    syncRows(fleet.methods, [](const MethodRow& m) {
        return std::pair(std::pair(m.service, m.method),
                         m.unmerged ? m.brokers.value(0) : QString());
    });
}

void MethodTableModel::update(const BrokerSnapshot& snapshot)
{
    FleetMember member;
    member.state = BrokerLink::State::Connected;
    member.last = snapshot;
    member.reporting = true;
    update(combine({member}));
}

QString MethodTableModel::displayName(const QString& method)
{
    return method.isEmpty() ? tr("(no method)") : method;
}

CellValue MethodTableModel::value(const MethodRow& method, int column)
{
    switch (column) {
    case Service:
        return {method.service};
    case Method:
        return {displayName(method.method), method.method};
    case Broker:
        if (method.unmerged) {
            return {tr("%1, not merged").arg(method.brokerLabel)};
        }
        if (method.brokers.size() > 1) {
            return {tr("%n brokers", nullptr, static_cast<int>(method.brokers.size()))};
        }
        return {method.brokerLabel};
    case Calls:
        return countCell(method.calls);
    case Errors:
        return countCell(method.errors);
    case P50:
    case P95:
    case P99:
    case Max:
        if (latency(method).count == 0) {
            return {QStringLiteral("–"), qlonglong{-1}};
        }
        return {units::fromMicroseconds(percentile(latency(method), column)),
                static_cast<qlonglong>(percentile(latency(method), column))};
    case CallsPerSecond:
        return rateCell(method.callsPerSecond);
    case ErrorsPerSecond:
        return rateCell(method.errorsPerSecond);
    default:
        return {};
    }
}

QVariant MethodTableModel::cell(const MethodRow& method, int column, int role) const
{
    switch (role) {
    case ServiceRole:
        return method.service;
    case MethodRole:
        return method.method;
    case UnmergedRole:
        return method.unmerged;
    case Qt::ToolTipRole:
        return isLatency(column) || column == Broker ? QVariant(latencyToolTip(method))
                                                     : QVariant();
    case Qt::FontRole:
        if (method.unmerged && (isLatency(column) || column == Broker)) {
            QFont font;
            font.setItalic(true);
            return font;
        }
        return {};
    case Qt::TextAlignmentRole:
        return column == Service || column == Method || column == Broker
                   ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                   : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ForegroundRole:
        if ((column == Errors && method.errors > 0) ||
            (column == ErrorsPerSecond && method.errorsPerSecond > 0)) {
            return QBrush(QColor(0xc6, 0x28, 0x28));
        }
        return {};
    default:
        return {};
    }
}

constexpr const char* kLatencyToolTip =
    QT_TR_NOOP("Latency as the client saw it through the broker (queue wait + service time), over "
               "the broker's window");
constexpr const char* kRateToolTip = QT_TR_NOOP("Per second, over the broker's window");

// Titles and tooltips, by Column.
const ColumnHeader MethodTableModel::kColumnHeaders[ColumnCount] = {
    {QT_TR_NOOP("Service")},
    {QT_TR_NOOP("Method")},
    {QT_TR_NOOP("Broker"),
     QT_TR_NOOP("The brokers whose calls the row sums; latencies are of their calls together")},
    {QT_TR_NOOP("Calls"), QT_TR_NOOP("Calls answered since the broker started")},
    {QT_TR_NOOP("Errors"), QT_TR_NOOP("Calls answered with an error since the broker started")},
    {QT_TR_NOOP("p50"), kLatencyToolTip},
    {QT_TR_NOOP("p95"), kLatencyToolTip},
    {QT_TR_NOOP("p99"), kLatencyToolTip},
    {QT_TR_NOOP("Max"), kLatencyToolTip},
    {QT_TR_NOOP("Calls/s"), kRateToolTip},
    {QT_TR_NOOP("Err/s"), kRateToolTip},
};

} // namespace switchboard
