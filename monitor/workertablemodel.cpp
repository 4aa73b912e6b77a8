#include "workertablemodel.h"

#include "units.h"

#include <QBrush>

#include <algorithm>
#include <utility>

namespace switchboard {

namespace {

int severity(WorkerStats::State state)
{
    return static_cast<int>(state); // Idle, Busy, Late, Expired: declared in rising order
}

bool isBusy(const WorkerStats& worker)
{
    return worker.state == WorkerStats::State::Busy || !worker.currentMethod.isEmpty();
}

} // namespace

void WorkerTableModel::update(const FleetSnapshot& fleet)
{
    syncRows(fleet.workers, [](const WorkerRow& w) { return std::pair(w.broker, w.identity); });
}

void WorkerTableModel::update(const BrokerSnapshot& snapshot)
{
    FleetMember member;
    member.state = BrokerLink::State::Connected;
    member.last = snapshot;
    member.reporting = true;
    update(combine({member}));
}

const WorkerRow* WorkerTableModel::worker(int row) const
{
    return rowAt(row);
}

QColor WorkerTableModel::stateColor(WorkerStats::State state)
{
    switch (state) {
    case WorkerStats::State::Idle:
        return QColor(0xa5, 0xd6, 0xa7); // green
    case WorkerStats::State::Busy:
        return QColor(0x90, 0xca, 0xf9); // blue
    case WorkerStats::State::Late:
        return QColor(0xff, 0xb7, 0x4d); // orange
    case WorkerStats::State::Expired:
        return QColor(0xef, 0x53, 0x50); // red
    }
    return {};
}

QVariant WorkerTableModel::cell(const WorkerRow& worker, int column, int role) const
{
    switch (role) {
    case IdentityRole:
        return worker.identity;
    case StateRole:
        return static_cast<int>(worker.state);
    case BrokerRole:
        return worker.broker;
    case Qt::ToolTipRole:
        return toolTip(worker);
    case Qt::TextAlignmentRole:
        switch (column) {
        case Load:
        case BusyFor:
        case Served:
        case Errors:
        case HeartbeatAge:
        case LivenessLeft:
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        case State:
            return QVariant(Qt::AlignCenter);
        default:
            return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
        }
    case Qt::BackgroundRole:
        if (column == State) {
            return QBrush(stateColor(worker.state));
        }
        return {};
    case Qt::ForegroundRole:
        if (column == State) {
            return QBrush(Qt::black); // the state colours are light: dark text on any theme
        }
        if (worker.state == WorkerStats::State::Expired) {
            return QBrush(QColor(0x75, 0x75, 0x75)); // gone: keep it readable, not prominent
        }
        if (column == Errors && worker.errors > 0) {
            return QBrush(QColor(0xc6, 0x28, 0x28));
        }
        return {};
    default:
        return {};
    }
}

CellValue WorkerTableModel::value(const WorkerRow& worker, int column)
{
    switch (column) {
    case Name:
        return {worker.name};
    case Service:
        return {worker.service};
    case Broker:
        return {worker.brokerLabel};
    case State:
        return {toString(worker.state), severity(worker.state)};
    case Load:
        if (worker.state == WorkerStats::State::Expired) {
            return {QString(), qint64{-1}};
        }
        // Sorted by how full it is, so that the busiest workers of any capacity come together.
        return {QStringLiteral("%1 / %2").arg(worker.inFlight).arg(worker.capacity),
                static_cast<qint64>(worker.inFlight) * 1000 / std::max(worker.capacity, 1)};
    case Method:
        return {worker.currentMethod};
    case BusyFor:
        if (!isBusy(worker)) {
            return {QString(), qint64{-1}};
        }
        return {units::fromMilliseconds(worker.busyForMs), static_cast<qint64>(worker.busyForMs)};
    case Served:
        return countCell(worker.served);
    case Errors:
        return countCell(worker.errors);
    case HeartbeatAge:
        return {units::fromMilliseconds(worker.lastSeenAgeMs),
                static_cast<qint64>(worker.lastSeenAgeMs)};
    case LivenessLeft:
        if (worker.state == WorkerStats::State::Expired) {
            return {QStringLiteral("0"), -1};
        }
        return {worker.liveness > 0
                    ? QStringLiteral("%1 of %2").arg(worker.livenessLeft).arg(worker.liveness)
                    : QString::number(worker.livenessLeft),
                worker.livenessLeft};
    case Peer:
        return {worker.peerAddress.isEmpty() ? QStringLiteral("(local)") : worker.peerAddress};
    case Protocol:
        return {worker.protocol};
    default:
        return {};
    }
}

QString WorkerTableModel::toolTip(const WorkerRow& worker)
{
    QString text = tr("%1 (%2), %3 of %4\nidentity %5\nconnected for %6")
                       .arg(worker.name, worker.protocol, toString(worker.state), worker.service,
                            QString::fromLatin1(worker.identity.toHex(' ')),
                            units::span(worker.connectedForMs));
    if (worker.brokerDown) {
        text += tr("\n%1 is down: this is what it last reported").arg(worker.brokerName);
    }
    return text;
}

// Titles and tooltips, by Column.
const ColumnHeader WorkerTableModel::kColumnHeaders[ColumnCount] = {
    {QT_TR_NOOP("Worker")},
    {QT_TR_NOOP("Service")},
    {QT_TR_NOOP("Broker"), QT_TR_NOOP("The broker the worker is connected to")},
    {QT_TR_NOOP("State")},
    {QT_TR_NOOP("In flight"),
     QT_TR_NOOP("Requests the worker holds now, of how many it may hold at once (its credit; "
                "1 for a plain MDP worker)")},
    {QT_TR_NOOP("Method"), QT_TR_NOOP("The method of the request in flight (the oldest one)")},
    {QT_TR_NOOP("Busy for"), QT_TR_NOOP("How long the request in flight (the oldest) has run")},
    {QT_TR_NOOP("Served"), QT_TR_NOOP("Final answers delivered since the worker joined")},
    {QT_TR_NOOP("Errors"), QT_TR_NOOP("Of the answers served, how many were errors")},
    {QT_TR_NOOP("Last seen"),
     QT_TR_NOOP("Time since anything (heartbeat or answer) arrived from the worker")},
    {QT_TR_NOOP("Liveness"),
     QT_TR_NOOP("Heartbeats the worker may still miss before the broker purges it")},
    {QT_TR_NOOP("Peer"), QT_TR_NOOP("The worker's address as the broker sees it")},
    {QT_TR_NOOP("Protocol")},
};

} // namespace switchboard
