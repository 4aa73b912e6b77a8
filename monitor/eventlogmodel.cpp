#include "eventlogmodel.h"

#include <QBrush>
#include <QDateTime>

#include <algorithm>

namespace switchboard {

namespace {

QColor kindColor(BrokerEvent::Kind kind)
{
    switch (kind) {
    case BrokerEvent::Kind::WorkerExpired:
    case BrokerEvent::Kind::WorkerDisconnected:
    case BrokerEvent::Kind::ProtocolError:
    case BrokerEvent::Kind::RepliesDropped:
        return QColor(0xc6, 0x28, 0x28); // red: something broke
    case BrokerEvent::Kind::WorkerEvicted:
    case BrokerEvent::Kind::RequestExpired:
    case BrokerEvent::Kind::ClientNotReading:
    case BrokerEvent::Kind::ClientAtBound:
        return QColor(0xe6, 0x51, 0x00); // orange: a request or a worker was lost on purpose
    case BrokerEvent::Kind::WorkerJoined:
    case BrokerEvent::Kind::WorkerLeft:
        return {};
    }
    return {};
}

} // namespace

EventLogModel::EventLogModel(QObject* parent)
    : QAbstractTableModel(parent)
{}

void EventLogModel::update(const BrokerSnapshot& snapshot)
{
    // A broker that restarted counts its events from the start again; what it had said before
    // stays in the log as history.
    if (snapshot.uptimeMs < m_lastUptimeMs) {
        m_seenAny = false;
        m_lastSequence = 0;
    }
    m_lastUptimeMs = snapshot.uptimeMs;

    QVector<BrokerEvent> fresh;
    for (const BrokerEvent& event : snapshot.events) {
        if (!m_seenAny || event.sequence > m_lastSequence) {
            fresh.push_back(event);
            m_lastSequence = event.sequence;
            m_seenAny = true;
        }
    }
    if (fresh.isEmpty()) {
        return;
    }
    if (fresh.size() > m_capacity) {
        fresh.remove(0, fresh.size() - m_capacity);
    }
    trimTo(m_capacity - static_cast<int>(fresh.size()));
    const auto first = static_cast<int>(m_events.size());
    beginInsertRows({}, first, first + static_cast<int>(fresh.size()) - 1);
    m_events.append(fresh);
    endInsertRows();
}

void EventLogModel::setCapacity(int capacity)
{
    m_capacity = std::max(capacity, 1);
    trimTo(m_capacity);
}

void EventLogModel::trimTo(int rows)
{
    const auto excess = static_cast<int>(m_events.size()) - std::max(rows, 0);
    if (excess <= 0) {
        return;
    }
    beginRemoveRows({}, 0, excess - 1);
    m_events.remove(0, excess);
    endRemoveRows();
}

int EventLogModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_events.size());
}

int EventLogModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventLogModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const BrokerEvent& event = m_events[index.row()];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case Time:
            return QDateTime::fromMSecsSinceEpoch(event.timeMs)
                .toString(QStringLiteral("HH:mm:ss"));
        case Kind:
            return toString(event.kind);
        case Service:
            return event.service;
        case Worker:
            return event.worker;
        case Text:
            return event.text;
        default:
            return {};
        }
    case SortRole:
        // Events of one millisecond keep the broker's order.
        return column == Time ? QVariant(static_cast<qint64>(event.timeMs) * 1000 +
                                         static_cast<qint64>(event.sequence % 1000))
                              : data(index, Qt::DisplayRole);
    case SequenceRole:
        return static_cast<qulonglong>(event.sequence);
    case KindRole:
        return static_cast<int>(event.kind);
    case Qt::ToolTipRole:
        return column == Time
                   ? QVariant(
                         QDateTime::fromMSecsSinceEpoch(event.timeMs).toString(Qt::ISODateWithMs))
                   : QVariant(event.text);
    case Qt::ForegroundRole:
        if (column == Kind) {
            const QColor color = kindColor(event.kind);
            return color.isValid() ? QVariant(QBrush(color)) : QVariant();
        }
        return {};
    default:
        return {};
    }
}

QVariant EventLogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    switch (section) {
    case Time:
        return tr("Time");
    case Kind:
        return tr("Event");
    case Service:
        return tr("Service");
    case Worker:
        return tr("Worker");
    case Text:
        return tr("Details");
    default:
        return {};
    }
}

} // namespace switchboard
