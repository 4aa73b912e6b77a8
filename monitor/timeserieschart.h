#pragma once

#include <QChartView>
#include <QStringList>
#include <QVector>

class QDateTimeAxis;
class QLineSeries;
class QVXYModelMapper;
class QValueAxis;

namespace switchboard {

class TimeSeriesModel;

// A line chart of the largest series of a TimeSeriesModel over its span, each line read from the
// model by a QVXYModelMapper: the chart draws the model's numbers and nothing else. Which series
// are drawn follows the model (TimeSeriesModel::largestColumns); a series keeps its colour while
// it stays drawn.
//
// The chart owns a fixed set of lines, made before it is first shown, and hands them to series
// as these come and go: with Qt Charts 6.4 a series attached to a QDateTimeAxis after the view is
// shown makes that axis vanish (labels, title and grid), while the plot keeps its room.
class TimeSeriesChart : public QChartView {
    Q_OBJECT
public:
    static constexpr int kDefaultMaxSeries = 5;
    static constexpr int kMaxSeriesLimit = 8; // one distinct colour each

    // valueTitle names the quantity and its unit ("calls/s"); minimumTop keeps a quiet chart
    // from magnifying noise (an axis of 0..4 for a queue that holds 1 request).
    TimeSeriesChart(TimeSeriesModel* model, const QString& title, const QString& valueTitle,
                    double minimumTop, int maxSeries = kDefaultMaxSeries,
                    QWidget* parent = nullptr);
    ~TimeSeriesChart() override;

    int maxSeries() const { return static_cast<int>(m_lines.size()); }

    // The series drawn, as named in the legend, in the order of their lines.
    QStringList seriesNames() const;
    QLineSeries* series(const QString& name) const;
    TimeSeriesModel* model() const { return m_model; }
    QDateTimeAxis* timeAxis() const { return m_timeAxis; }
    QValueAxis* valueAxis() const { return m_valueAxis; }

private:
    struct Line {
        QString name; // empty while the line is free
        QLineSeries* series = nullptr;
        QVXYModelMapper* mapper = nullptr; // only while the line has a series
    };

    void scheduleRefresh();
    void refresh();
    void assign(Line& line, const QString& name, int column);
    void release(Line& line);
    void updateAxes();

    TimeSeriesModel* m_model;
    QDateTimeAxis* m_timeAxis;
    QValueAxis* m_valueAxis;
    double m_minimumTop;
    QVector<Line> m_lines;
    bool m_refreshPending = false;
};

} // namespace switchboard
