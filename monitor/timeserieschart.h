#pragma once

#include <QChartView>
#include <QColor>
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
class TimeSeriesChart : public QChartView {
    Q_OBJECT
public:
    static constexpr int kDefaultMaxSeries = 5;

    // valueTitle names the quantity and its unit ("calls/s"); minimumTop keeps a quiet chart
    // from magnifying noise (an axis of 0..4 for a queue that holds 1 request).
    TimeSeriesChart(TimeSeriesModel* model, const QString& title, const QString& valueTitle,
                    double minimumTop, QWidget* parent = nullptr);
    ~TimeSeriesChart() override;

    int maxSeries() const { return m_maxSeries; }
    void setMaxSeries(int maxSeries);

    // The series drawn, as named in the legend, in the order they were added.
    QStringList seriesNames() const;
    QLineSeries* series(const QString& name) const;
    QDateTimeAxis* timeAxis() const { return m_timeAxis; }
    QValueAxis* valueAxis() const { return m_valueAxis; }

private:
    struct Line {
        QString name;
        QLineSeries* series = nullptr;
        QVXYModelMapper* mapper = nullptr;
    };

    void refresh();
    void addLine(const QString& name, int column);
    QColor unusedColor() const;
    void updateAxes();

    TimeSeriesModel* m_model;
    QDateTimeAxis* m_timeAxis;
    QValueAxis* m_valueAxis;
    double m_minimumTop;
    int m_maxSeries = kDefaultMaxSeries;
    QVector<Line> m_lines;
};

} // namespace switchboard
