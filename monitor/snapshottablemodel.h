#pragma once

#include <QAbstractTableModel>
#include <QHash>
#include <QSet>
#include <QVariant>
#include <QVector>

#include <cstdint>
#include <type_traits>
#include <utility>

namespace switchboard {

// The brushes every cell of a stale table has: status colours go neutral, so that a green
// "idle" is never read as a worker known to be alive.
QVariant staleForeground();
QVariant staleBackground();

// What a cell shows (Qt::DisplayRole) and how it sorts (the models' SortRole): numbers sort as
// numbers, not as the text they show. Without a sort key, the text sorts.
struct CellValue {
    CellValue() = default;
    CellValue(QVariant shown, QVariant sortsBy = {})
        : display(std::move(shown))
        , sortKey(std::move(sortsBy))
    {}

    QVariant display;
    QVariant sortKey;
};

// The columns most tables have: a count ("1,234", sorted as qulonglong) and a rate per second
// ("12.5", sorted as double).
CellValue countCell(std::uint64_t count);
CellValue rateCell(double perSecond);

// A column's title and, where it needs one, the tooltip that explains it: QT_TR_NOOP texts,
// translated in the model's context.
struct ColumnHeader {
    const char* title;
    const char* toolTip = nullptr;
};

// The base of the monitor's tables, whose rows mirror one list of the BrokerSnapshots (workers,
// services, methods, events), after hotspot's HashModel: it owns the rows, rowCount(),
// columnCount(), data() and headerData(), and `Model` supplies the cells:
//
//   enum Column { ..., ColumnCount };
//   enum Role { SortRole = Qt::UserRole, ... };
//   static const ColumnHeader kColumnHeaders[ColumnCount];
//   CellValue value(const Row& row, int column) const;      // DisplayRole and SortRole
//   QVariant cell(const Row& row, int column, int role) const; // every other role
//
// Rows change incrementally (syncRows, appendRows, removeFirstRows), so views keep their
// selection, scroll position and sort, and a proxy re-sorts only what moved: a model reset per
// tick would lose all three once a second.
template <typename Row, typename Model>
class SnapshotTableModel : public QAbstractTableModel {
public:
    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const final
    {
        return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
    }
    int columnCount(const QModelIndex& parent = {}) const final
    {
        return parent.isValid() ? 0 : Model::ColumnCount;
    }
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const final;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const final;

    // Stale rows are the last ones received while the link is down: they stay visible (the
    // operator wants to know what was there) but are greyed, so nobody reads them as live. A row
    // with a `brokerDown` member (of a window on several brokers) is greyed on its own.
    bool isStale() const { return m_stale; }
    void setStale(bool stale);

    // The row of this model (not of a proxy) at `row`, or nullptr.
    const Row* rowAt(int row) const
    {
        return row >= 0 && row < m_rows.size() ? &m_rows[row] : nullptr;
    }

protected:
    const QVector<Row>& rows() const { return m_rows; }

    // Makes the rows equal to `incoming`, matching rows by keyOf(row): rows no longer present
    // are removed (adjacent ones in one removal), changed rows get dataChanged (one signal per run
    // of adjacent changed rows), unchanged rows get nothing, new rows are appended in
    // `incoming`'s order. Rows keep their positions otherwise.
    template <typename KeyOf>
    void syncRows(const QVector<Row>& incoming, KeyOf keyOf);

    // Appends `added` after the last row, in one insertion.
    void appendRows(const QVector<Row>& added);
    // Removes the first `count` rows, in one removal.
    void removeFirstRows(qsizetype count);
    // Every row's cell in `column` changed (something the cells show besides the rows did).
    void columnChanged(int column);

private:
    QVector<Row> m_rows;
    bool m_stale = false;
};

template <typename Row, typename Model>
QVariant SnapshotTableModel<Row, Model>::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const Row& row = m_rows[index.row()];
    bool stale = m_stale;
    if constexpr (requires { row.brokerDown; }) {
        stale = stale || row.brokerDown; // of several brokers, this row's is down
    }
    if (stale && role == Qt::ForegroundRole) {
        return staleForeground();
    }
    if (stale && role == Qt::BackgroundRole) {
        return staleBackground();
    }
    const auto& model = static_cast<const Model&>(*this);
    if (role == Qt::DisplayRole || role == Model::SortRole) {
        CellValue value = model.value(row, index.column());
        const bool sortsAsShown = role == Qt::DisplayRole || !value.sortKey.isValid();
        return sortsAsShown ? value.display : value.sortKey;
    }
    return model.cell(row, index.column(), role);
}

template <typename Row, typename Model>
QVariant SnapshotTableModel<Row, Model>::headerData(int section, Qt::Orientation orientation,
                                                    int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= Model::ColumnCount) {
        return {};
    }
    const ColumnHeader& header = Model::kColumnHeaders[section];
    if (role == Qt::DisplayRole) {
        return Model::tr(header.title);
    }
    if (role == Qt::ToolTipRole && header.toolTip != nullptr) {
        return Model::tr(header.toolTip);
    }
    return {};
}

template <typename Row, typename Model>
void SnapshotTableModel<Row, Model>::setStale(bool stale)
{
    if (m_stale == stale) {
        return;
    }
    m_stale = stale;
    if (!m_rows.isEmpty()) {
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1),
                           {Qt::ForegroundRole, Qt::BackgroundRole});
    }
}

template <typename Row, typename Model>
void SnapshotTableModel<Row, Model>::columnChanged(int column)
{
    if (!m_rows.isEmpty()) {
        Q_EMIT dataChanged(index(0, column), index(rowCount() - 1, column));
    }
}

template <typename Row, typename Model>
void SnapshotTableModel<Row, Model>::appendRows(const QVector<Row>& added)
{
    if (added.isEmpty()) {
        return;
    }
    const auto first = static_cast<int>(m_rows.size());
    beginInsertRows({}, first, first + static_cast<int>(added.size()) - 1);
    m_rows.append(added);
    endInsertRows();
}

template <typename Row, typename Model>
void SnapshotTableModel<Row, Model>::removeFirstRows(qsizetype count)
{
    if (count <= 0) {
        return;
    }
    beginRemoveRows({}, 0, static_cast<int>(count) - 1);
    m_rows.remove(0, count);
    endRemoveRows();
}

template <typename Row, typename Model>
template <typename KeyOf>
void SnapshotTableModel<Row, Model>::syncRows(const QVector<Row>& incoming, KeyOf keyOf)
{
    using Key = std::decay_t<decltype(keyOf(incoming.front()))>;
    QHash<Key, qsizetype> incomingAt;
    incomingAt.reserve(incoming.size());
    for (qsizetype i = 0; i < incoming.size(); ++i) {
        incomingAt.insert(keyOf(incoming[i]), i);
    }

    // From the back, so that the rows still to visit keep their indexes.
    for (qsizetype last = m_rows.size() - 1; last >= 0;) {
        if (incomingAt.contains(keyOf(m_rows[last]))) {
            --last;
            continue;
        }
        qsizetype first = last;
        while (first > 0 && !incomingAt.contains(keyOf(m_rows[first - 1]))) {
            --first;
        }
        beginRemoveRows({}, static_cast<int>(first), static_cast<int>(last));
        m_rows.remove(first, last - first + 1);
        endRemoveRows();
        last = first - 1;
    }

    QSet<Key> present;
    present.reserve(m_rows.size());
    qsizetype runStart = -1;
    const auto endRun = [&](qsizetype end) {
        if (runStart >= 0) {
            Q_EMIT dataChanged(index(static_cast<int>(runStart), 0),
                               index(static_cast<int>(end - 1), columnCount() - 1));
            runStart = -1;
        }
    };
    for (qsizetype i = 0; i < m_rows.size(); ++i) {
        const Key key = keyOf(m_rows[i]);
        present.insert(key);
        const Row& next = incoming[incomingAt.value(key)];
        if (m_rows[i] == next) {
            endRun(i);
            continue;
        }
        m_rows[i] = next;
        if (runStart < 0) {
            runStart = i;
        }
    }
    endRun(m_rows.size());

    QVector<Row> added;
    for (const Row& row : incoming) {
        const Key key = keyOf(row);
        if (!present.contains(key)) {
            present.insert(key); // a key listed twice becomes one row
            added.push_back(row);
        }
    }
    appendRows(added);
}

} // namespace switchboard
