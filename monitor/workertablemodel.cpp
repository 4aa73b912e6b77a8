#include "workertablemodel.h"

#include "units.h"

#include <QBrush>

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

WorkerTableModel::WorkerTableModel(QObject* parent)
    : SnapshotTableModel(parent)
{}

void WorkerTableModel::update(const BrokerSnapshot& snapshot)
{
    if (snapshot.liveness != m_liveness) {
        m_liveness = snapshot.liveness;
        if (!m_workers.isEmpty()) {
            Q_EMIT dataChanged(index(0, LivenessLeft),
                               index(static_cast<int>(m_workers.size()) - 1, LivenessLeft));
        }
    }
    syncRows(m_workers, snapshot.workers, [](const WorkerStats& w) { return w.identity; });
}

const WorkerStats* WorkerTableModel::worker(int row) const
{
    if (row < 0 || row >= m_workers.size()) {
        return nullptr;
    }
    return &m_workers[row];
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

int WorkerTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_workers.size());
}

int WorkerTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant WorkerTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const WorkerStats& worker = m_workers[index.row()];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return display(worker, column);
    case SortRole:
        return sortKey(worker, column);
    case IdentityRole:
        return worker.identity;
    case StateRole:
        return static_cast<int>(worker.state);
    case Qt::ToolTipRole:
        return toolTip(worker);
    case Qt::TextAlignmentRole:
        switch (column) {
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
        if (isStale()) {
            return staleBackground();
        }
        if (column == State) {
            return QBrush(stateColor(worker.state));
        }
        return {};
    case Qt::ForegroundRole:
        if (isStale()) {
            return staleForeground();
        }
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

QVariant WorkerTableModel::display(const WorkerStats& worker, int column) const
{
    switch (column) {
    case Name:
        return worker.name;
    case Service:
        return worker.service;
    case State:
        return toString(worker.state);
    case Method:
        return worker.currentMethod;
    case BusyFor:
        return isBusy(worker) ? units::fromMilliseconds(worker.busyForMs) : QString();
    case Served:
        return units::count(worker.served);
    case Errors:
        return units::count(worker.errors);
    case HeartbeatAge:
        return units::fromMilliseconds(worker.lastSeenAgeMs);
    case LivenessLeft:
        if (worker.state == WorkerStats::State::Expired) {
            return QStringLiteral("0");
        }
        return m_liveness > 0 ? QStringLiteral("%1 of %2").arg(worker.livenessLeft).arg(m_liveness)
                              : QString::number(worker.livenessLeft);
    case Peer:
        return worker.peerAddress.isEmpty() ? QStringLiteral("(local)") : worker.peerAddress;
    case Protocol:
        return worker.protocol;
    default:
        return {};
    }
}

QVariant WorkerTableModel::sortKey(const WorkerStats& worker, int column) const
{
    switch (column) {
    case State:
        return severity(worker.state);
    case BusyFor:
        return static_cast<qint64>(isBusy(worker) ? worker.busyForMs : -1);
    case Served:
        return static_cast<qulonglong>(worker.served);
    case Errors:
        return static_cast<qulonglong>(worker.errors);
    case HeartbeatAge:
        return static_cast<qint64>(worker.lastSeenAgeMs);
    case LivenessLeft:
        return worker.state == WorkerStats::State::Expired ? -1 : worker.livenessLeft;
    default:
        return display(worker, column);
    }
}

QString WorkerTableModel::toolTip(const WorkerStats& worker) const
{
    return tr("%1 (%2), %3 of %4\nidentity %5\nconnected for %6")
        .arg(worker.name, worker.protocol, toString(worker.state), worker.service,
             QString::fromLatin1(worker.identity.toHex(' ')), units::span(worker.connectedForMs));
}

QVariant WorkerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal) {
        return {};
    }
    if (role == Qt::DisplayRole) {
        switch (section) {
        case Name:
            return tr("Worker");
        case Service:
            return tr("Service");
        case State:
            return tr("State");
        case Method:
            return tr("Method");
        case BusyFor:
            return tr("Busy for");
        case Served:
            return tr("Served");
        case Errors:
            return tr("Errors");
        case HeartbeatAge:
            return tr("Last seen");
        case LivenessLeft:
            return tr("Liveness");
        case Peer:
            return tr("Peer");
        case Protocol:
            return tr("Protocol");
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case Method:
            return tr("The method of the request in flight");
        case BusyFor:
            return tr("How long the request in flight has run");
        case Served:
            return tr("Final answers delivered since the worker joined");
        case Errors:
            return tr("Of the answers served, how many were errors");
        case HeartbeatAge:
            return tr("Time since anything (heartbeat or answer) arrived from the worker");
        case LivenessLeft:
            return tr("Heartbeats the worker may still miss before the broker purges it");
        case Peer:
            return tr("The worker's address as the broker sees it");
        default:
            return {};
        }
    }
    return {};
}

} // namespace switchboard
