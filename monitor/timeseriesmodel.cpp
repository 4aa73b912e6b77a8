#include "timeseriesmodel.h"

#include <QDateTime>

#include <algorithm>

namespace switchboard {

TimeSeriesModel::TimeSeriesModel(std::int64_t spanMs, QObject* parent)
    : QAbstractTableModel(parent)
    , m_spanMs(spanMs)
{}

void TimeSeriesModel::append(std::int64_t timeMs, const QVector<Sample>& samples)
{
    if (!m_rows.isEmpty()) {
        if (timeMs == m_rows.back().timeMs) {
            return;
        }
        if (timeMs < m_rows.back().timeMs) {
            clearRows();
        }
    }
    addSeries(samples);

    Row row;
    row.timeMs = timeMs;
    row.values.fill(0.0, m_series.size());
    for (const auto& [name, value] : samples) {
        const int series = static_cast<int>(m_series.indexOf(name));
        row.values[series] = value;
        m_lastSeenMs[series] = timeMs;
    }
    const auto at = static_cast<int>(m_rows.size());
    beginInsertRows({}, at, at);
    m_rows.push_back(std::move(row));
    endInsertRows();

    trimRows();
    dropAbsentSeries();
}

void TimeSeriesModel::clearRows()
{
    if (m_rows.isEmpty()) {
        return;
    }
    beginRemoveRows({}, 0, static_cast<int>(m_rows.size()) - 1);
    m_rows.clear();
    endRemoveRows();
}

void TimeSeriesModel::addSeries(const QVector<Sample>& samples)
{
    QStringList added;
    for (const auto& sample : samples) {
        if (!m_series.contains(sample.first) && !added.contains(sample.first)) {
            added.push_back(sample.first);
        }
    }
    if (added.isEmpty()) {
        return;
    }
    const int first = columnCount();
    beginInsertColumns({}, first, first + static_cast<int>(added.size()) - 1);
    m_series.append(added);
    m_lastSeenMs.resize(m_series.size());
    endInsertColumns();
}

void TimeSeriesModel::trimRows()
{
    const std::int64_t oldest = m_rows.back().timeMs - m_spanMs;
    qsizetype excess = 0;
    while (excess < m_rows.size() - 1 &&
           (m_rows[excess].timeMs < oldest || m_rows.size() - excess > kMaxRows)) {
        ++excess;
    }
    if (excess == 0) {
        return;
    }
    beginRemoveRows({}, 0, static_cast<int>(excess) - 1);
    m_rows.remove(0, excess);
    endRemoveRows();
}

void TimeSeriesModel::dropAbsentSeries()
{
    const std::int64_t oldest = m_rows.front().timeMs;
    // From the back, so that the series still to visit keep their columns.
    for (auto series = static_cast<int>(m_series.size()) - 1; series >= 0; --series) {
        if (m_lastSeenMs[series] >= oldest) {
            continue;
        }
        const int column = FirstSeriesColumn + series;
        beginRemoveColumns({}, column, column);
        m_series.removeAt(series);
        m_lastSeenMs.remove(series);
        for (Row& row : m_rows) {
            if (series < row.values.size()) {
                row.values.remove(series);
            }
        }
        endRemoveColumns();
    }
}

int TimeSeriesModel::columnOf(const QString& series) const
{
    const auto at = m_series.indexOf(series);
    return at < 0 ? -1 : FirstSeriesColumn + static_cast<int>(at);
}

QString TimeSeriesModel::seriesName(int column) const
{
    return m_series.value(column - FirstSeriesColumn);
}

std::int64_t TimeSeriesModel::firstTimeMs() const
{
    return m_rows.isEmpty() ? 0 : m_rows.front().timeMs;
}

std::int64_t TimeSeriesModel::lastTimeMs() const
{
    return m_rows.isEmpty() ? 0 : m_rows.back().timeMs;
}

double TimeSeriesModel::value(int row, int column) const
{
    const Row& r = m_rows[row];
    if (column == TimeColumn) {
        return static_cast<double>(r.timeMs);
    }
    const int series = column - FirstSeriesColumn;
    return series < r.values.size() ? r.values[series] : 0.0;
}

QVector<int> TimeSeriesModel::largestColumns(int n) const
{
    QVector<std::pair<double, int>> sums;
    for (int series = 0; series < m_series.size(); ++series) {
        double sum = 0;
        for (const Row& row : m_rows) {
            sum += series < row.values.size() ? row.values[series] : 0.0;
        }
        sums.push_back({sum, series});
    }
    std::sort(sums.begin(), sums.end(), [this](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : m_series[a.second] < m_series[b.second];
    });
    QVector<int> columns;
    for (int i = 0; i < std::min<qsizetype>(n, sums.size()); ++i) {
        columns.push_back(FirstSeriesColumn + sums[i].second);
    }
    return columns;
}

double TimeSeriesModel::maximum(const QVector<int>& columns) const
{
    double result = 0;
    for (int row = 0; row < m_rows.size(); ++row) {
        for (const int column : columns) {
            result = std::max(result, value(row, column));
        }
    }
    return result;
}

int TimeSeriesModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int TimeSeriesModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : FirstSeriesColumn + static_cast<int>(m_series.size());
}

QVariant TimeSeriesModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    switch (role) {
    case Qt::DisplayRole:
    case SortRole:
        return value(index.row(), index.column());
    case Qt::ToolTipRole:
        if (index.column() == TimeColumn) {
            return QDateTime::fromMSecsSinceEpoch(m_rows[index.row()].timeMs)
                .toString(Qt::ISODateWithMs);
        }
        return {};
    default:
        return {};
    }
}

QVariant TimeSeriesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    if (section == TimeColumn) {
        return tr("Time");
    }
    return seriesName(section);
}

} // namespace switchboard
