#pragma once

#include <QAbstractTableModel>
#include <QHash>
#include <QSet>
#include <QVector>

#include <type_traits>

namespace switchboard {

// A table whose rows mirror one list of a BrokerSnapshot (workers, services or methods). Each
// snapshot is applied as a diff keyed by the row's identity, so views keep their selection,
// scroll position and sort, and a proxy re-sorts only what moved: a model reset per tick would
// lose all three once a second.
class SnapshotTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;

    // Stale rows are the last ones received while the link is down: they stay visible (the
    // operator wants to know what was there) but are greyed, so nobody reads them as live.
    bool isStale() const { return m_stale; }
    void setStale(bool stale);

protected:
    // The foreground and background every cell has while stale, invalid when fresh: status
    // colours go neutral, so that a green "idle" is never read as a worker known to be alive.
    QVariant staleForeground() const;
    QVariant staleBackground() const;

    // Makes `rows` equal to `incoming`, matching rows by keyOf(row): rows no longer present are
    // removed (adjacent ones in one removal), changed rows get dataChanged (one signal per run
    // of adjacent changed rows), unchanged rows get nothing, new rows are appended in
    // `incoming`'s order. Rows keep their positions otherwise.
    template <typename Row, typename KeyOf>
    void syncRows(QVector<Row>& rows, const QVector<Row>& incoming, KeyOf keyOf);

private:
    bool m_stale = false;
};

template <typename Row, typename KeyOf>
void SnapshotTableModel::syncRows(QVector<Row>& rows, const QVector<Row>& incoming, KeyOf keyOf)
{
    using Key = std::decay_t<decltype(keyOf(incoming.front()))>;
    QHash<Key, qsizetype> incomingAt;
    incomingAt.reserve(incoming.size());
    for (qsizetype i = 0; i < incoming.size(); ++i) {
        incomingAt.insert(keyOf(incoming[i]), i);
    }

    // From the back, so that the rows still to visit keep their indexes.
    for (qsizetype last = rows.size() - 1; last >= 0;) {
        if (incomingAt.contains(keyOf(rows[last]))) {
            --last;
            continue;
        }
        qsizetype first = last;
        while (first > 0 && !incomingAt.contains(keyOf(rows[first - 1]))) {
            --first;
        }
        beginRemoveRows({}, static_cast<int>(first), static_cast<int>(last));
        rows.remove(first, last - first + 1);
        endRemoveRows();
        last = first - 1;
    }

    QSet<Key> present;
    present.reserve(rows.size());
    qsizetype runStart = -1;
    const auto endRun = [&](qsizetype end) {
        if (runStart >= 0) {
            Q_EMIT dataChanged(index(static_cast<int>(runStart), 0),
                               index(static_cast<int>(end - 1), columnCount() - 1));
            runStart = -1;
        }
    };
    for (qsizetype i = 0; i < rows.size(); ++i) {
        const Key key = keyOf(rows[i]);
        present.insert(key);
        const Row& next = incoming[incomingAt.value(key)];
        if (rows[i] == next) {
            endRun(i);
            continue;
        }
        rows[i] = next;
        if (runStart < 0) {
            runStart = i;
        }
    }
    endRun(rows.size());

    QVector<qsizetype> added;
    for (qsizetype i = 0; i < incoming.size(); ++i) {
        const Key key = keyOf(incoming[i]);
        if (!present.contains(key)) {
            present.insert(key); // a key listed twice becomes one row
            added.push_back(i);
        }
    }
    if (!added.isEmpty()) {
        const auto first = static_cast<int>(rows.size());
        beginInsertRows({}, first, first + static_cast<int>(added.size()) - 1);
        for (const qsizetype i : added) {
            rows.push_back(incoming[i]);
        }
        endInsertRows();
    }
}

} // namespace switchboard
