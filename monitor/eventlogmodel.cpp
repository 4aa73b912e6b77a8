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

void EventLogModel::update(const BrokerSnapshot& snapshot, int broker, const QString& brokerLabel)
{
    Cursor& cursor = m_cursors[broker];
    // A broker that restarted counts its events from the start again; what it had said before
    // stays in the log as history.
    if (snapshot.uptimeMs < cursor.lastUptimeMs) {
        cursor.seenAny = false;
        cursor.lastSequence = 0;
    }
    cursor.lastUptimeMs = snapshot.uptimeMs;

    QVector<EventRow> fresh;
    for (const BrokerEvent& event : snapshot.events) {
        if (!cursor.seenAny || event.sequence > cursor.lastSequence) {
            fresh.push_back(EventRow{event, broker, brokerLabel});
            cursor.lastSequence = event.sequence;
            cursor.seenAny = true;
        }
    }
    if (fresh.isEmpty()) {
        return;
    }
    if (fresh.size() > m_capacity) {
        fresh.remove(0, fresh.size() - m_capacity);
    }
    trimTo(m_capacity - static_cast<int>(fresh.size()));
    appendRows(fresh);
}

void EventLogModel::setCapacity(int capacity)
{
    m_capacity = std::max(capacity, 1);
    trimTo(m_capacity);
}

void EventLogModel::trimTo(int rows)
{
    removeFirstRows(rowCount() - std::max(rows, 0));
}

CellValue EventLogModel::value(const EventRow& event, int column)
{
    switch (column) {
    case Time:
        // Events of one millisecond keep the broker's order.
        return {QDateTime::fromMSecsSinceEpoch(event.timeMs).toString(QStringLiteral("HH:mm:ss")),
                static_cast<qint64>(event.timeMs) * 1000 +
                    static_cast<qint64>(event.sequence % 1000)};
    case Kind:
        return {toString(event.kind)};
    case Broker:
        return {event.brokerLabel};
    case Service:
        return {event.service};
    case Worker:
        return {event.worker};
    case Text:
        return {event.text};
    default:
        return {};
    }
}

QVariant EventLogModel::cell(const EventRow& event, int column, int role) const
{
    switch (role) {
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

// Titles and tooltips, by Column.
const ColumnHeader EventLogModel::kColumnHeaders[ColumnCount] = {
    {QT_TR_NOOP("Time")},    {QT_TR_NOOP("Event")},  {QT_TR_NOOP("Broker")},
    {QT_TR_NOOP("Service")}, {QT_TR_NOOP("Worker")}, {QT_TR_NOOP("Details")},
};

} // namespace switchboard
