#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <QVector>

#include <cstdint>
#include <utility>

namespace switchboard {

// The last minutes of some per-name figure (queue depth per service, calls/s per method...):
// one row per snapshot, column 0 its time (ms since the epoch, as a number, so that a
// QVXYModelMapper can read it as x) and one column per series, named by its header. Rows are
// appended at the end and trimmed at the front once older than span(); a series with no value
// in any remaining row loses its column. A series has the value 0 in a row it was absent from.
class TimeSeriesModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // Only the first column is fixed; the series columns follow it, as many as there are.
    enum Column { TimeColumn, FirstSeriesColumn };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole, // the number, as DisplayRole
    };

    using Sample = std::pair<QString, double>;

    static constexpr std::int64_t kDefaultSpanMs = 5 * 60 * 1000;
    // Whatever the snapshot rate, the history stays bounded.
    static constexpr int kMaxRows = 3000;

    explicit TimeSeriesModel(std::int64_t spanMs = kDefaultSpanMs, QObject* parent = nullptr);

    // One row at timeMs; a time not after the last row's restarts the history (the broker's
    // clock went back, or another broker answers), a repeated time is ignored.
    void append(std::int64_t timeMs, const QVector<Sample>& samples);

    std::int64_t spanMs() const { return m_spanMs; }
    int seriesCount() const { return static_cast<int>(m_series.size()); }
    // The column of a series, or -1.
    int columnOf(const QString& series) const;
    QString seriesName(int column) const;
    std::int64_t firstTimeMs() const;
    std::int64_t lastTimeMs() const;
    double value(int row, int column) const;

    // The columns of the n series with the largest sum over the rows kept (the busiest, the
    // deepest, the slowest), largest first, ties by name: a chart of 50 methods is unreadable.
    QVector<int> largestColumns(int n) const;
    // The largest value of these columns over all rows, 0 when there is none.
    double maximum(const QVector<int>& columns) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    struct Row {
        std::int64_t timeMs = 0;
        QVector<double> values; // by series; shorter when series were added after this row
    };

    void clearRows();
    void addSeries(const QVector<Sample>& samples);
    void trimRows();
    void dropAbsentSeries();

    std::int64_t m_spanMs;
    QVector<Row> m_rows;
    QStringList m_series;
    QVector<std::int64_t> m_lastSeenMs; // by series: the time of the last row that had it
};

} // namespace switchboard
