#include "timeserieschart.h"

#include "timeseriesmodel.h"

#include <QDateTime>
#include <QDateTimeAxis>
#include <QGraphicsLayout>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QVXYModelMapper>
#include <QValueAxis>

#include <algorithm>

namespace switchboard {

namespace {

// Distinct on white and for the common colour blindnesses (Okabe-Ito), one per possible line.
const QColor kPalette[] = {
    QColor(0x00, 0x72, 0xb2), QColor(0xe6, 0x9f, 0x00), QColor(0x00, 0x9e, 0x73),
    QColor(0xd5, 0x5e, 0x00), QColor(0xcc, 0x79, 0xa7), QColor(0x56, 0xb4, 0xe9),
    QColor(0x00, 0x00, 0x00), QColor(0xf0, 0xe4, 0x42),
};

} // namespace

TimeSeriesChart::TimeSeriesChart(TimeSeriesModel* model, const QString& title,
                                 const QString& valueTitle, double minimumTop, int maxSeries,
                                 QWidget* parent)
    // Given its chart at construction: setChart() would orphan the default one, not delete it.
    : QChartView(new QChart, parent)
    , m_model(model)
    , m_timeAxis(new QDateTimeAxis)
    , m_valueAxis(new QValueAxis)
    , m_minimumTop(minimumTop)
{
    QChart* chart = this->chart();
    chart->setTitle(title);
    QFont titleFont = chart->titleFont();
    titleFont.setBold(true);
    chart->setTitleFont(titleFont);
    chart->setAnimationOptions(QChart::NoAnimation); // a new point every second: keep it still
    chart->setMargins(QMargins(4, 2, 4, 2));
    chart->layout()->setContentsMargins(0, 0, 0, 0);
    chart->setBackgroundRoundness(0);
    chart->legend()->setAlignment(Qt::AlignRight);

    m_timeAxis->setFormat(QStringLiteral("HH:mm:ss"));
    m_timeAxis->setTitleText(tr("local time"));
    m_timeAxis->setTickCount(4); // more would cut "HH:mm:ss" beside the legend
    m_valueAxis->setTitleText(valueTitle);
    m_valueAxis->setMin(0);
    chart->addAxis(m_timeAxis, Qt::AlignBottom);
    chart->addAxis(m_valueAxis, Qt::AlignLeft);

    const int lines = std::clamp(maxSeries, 1, kMaxSeriesLimit);
    for (int i = 0; i < lines; ++i) {
        Line line;
        line.series = new QLineSeries;
        QPen pen(kPalette[i]);
        pen.setWidthF(2);
        line.series->setPen(pen);
        chart->addSeries(line.series);
        line.series->attachAxis(m_timeAxis);
        line.series->attachAxis(m_valueAxis);
        m_lines.push_back(line);
        release(m_lines.back());
    }

    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(320, 220);

    connect(model, &QAbstractItemModel::rowsInserted, this, &TimeSeriesChart::scheduleRefresh);
    connect(model, &QAbstractItemModel::rowsRemoved, this, &TimeSeriesChart::scheduleRefresh);
    connect(model, &QAbstractItemModel::columnsInserted, this, &TimeSeriesChart::scheduleRefresh);
    connect(model, &QAbstractItemModel::columnsRemoved, this, &TimeSeriesChart::scheduleRefresh);
    connect(model, &QAbstractItemModel::modelReset, this, &TimeSeriesChart::scheduleRefresh);
    connect(model, &QAbstractItemModel::dataChanged, this, &TimeSeriesChart::scheduleRefresh);
    refresh();
}

TimeSeriesChart::~TimeSeriesChart()
{
    // The mappers must let go of the model and series before either is destroyed.
    for (const Line& line : m_lines) {
        delete line.mapper;
    }
}

QStringList TimeSeriesChart::seriesNames() const
{
    QStringList names;
    for (const Line& line : m_lines) {
        if (!line.name.isEmpty()) {
            names.push_back(line.name);
        }
    }
    return names;
}

QLineSeries* TimeSeriesChart::series(const QString& name) const
{
    for (const Line& line : m_lines) {
        if (!name.isEmpty() && line.name == name) {
            return line.series;
        }
    }
    return nullptr;
}

void TimeSeriesChart::scheduleRefresh()
{
    // Not from inside the model's signal: a mapper made or re-pointed there would read the new
    // row at once and then be told about it too (a point twice), and a snapshot changes the
    // model several times over; one refresh after it is enough.
    if (m_refreshPending) {
        return;
    }
    m_refreshPending = true;
    QMetaObject::invokeMethod(this, &TimeSeriesChart::refresh, Qt::QueuedConnection);
}

void TimeSeriesChart::refresh()
{
    m_refreshPending = false;
    QStringList wanted;
    for (const int column : m_model->largestColumns(maxSeries())) {
        wanted.push_back(m_model->seriesName(column));
    }

    // Lines that stay keep their series (and colour); only their column may have moved.
    for (Line& line : m_lines) {
        if (line.name.isEmpty()) {
            continue;
        }
        if (!wanted.contains(line.name)) {
            release(line);
            continue;
        }
        const int column = m_model->columnOf(line.name);
        if (line.mapper->yColumn() != column) {
            line.mapper->setYColumn(column);
        }
    }
    for (const QString& name : wanted) {
        if (series(name)) {
            continue;
        }
        for (Line& line : m_lines) {
            if (line.name.isEmpty()) {
                assign(line, name, m_model->columnOf(name));
                break;
            }
        }
    }
    updateAxes();
}

void TimeSeriesChart::assign(Line& line, const QString& name, int column)
{
    line.name = name;
    line.series->setName(name);
    line.mapper = new QVXYModelMapper;
    line.mapper->setXColumn(TimeSeriesModel::TimeColumn);
    line.mapper->setYColumn(column);
    line.mapper->setSeries(line.series);
    line.mapper->setModel(m_model);
    line.series->setVisible(true);
    for (QLegendMarker* marker : line.series->chart()->legend()->markers(line.series)) {
        marker->setVisible(true);
    }
}

void TimeSeriesChart::release(Line& line)
{
    line.name.clear();
    // Deleted, not detached: QXYModelMapper::setModel(nullptr) keeps the old model.
    delete line.mapper;
    line.mapper = nullptr;
    line.series->clear();
    line.series->setName(QString());
    line.series->setVisible(false);
    for (QLegendMarker* marker : line.series->chart()->legend()->markers(line.series)) {
        marker->setVisible(false);
    }
}

void TimeSeriesChart::updateAxes()
{
    // Until the history fills the span it shows what there is; then the last span, "now" at
    // the right edge.
    const std::int64_t last =
        m_model->rowCount() > 0 ? m_model->lastTimeMs() : QDateTime::currentMSecsSinceEpoch();
    const std::int64_t first = m_model->rowCount() > 1
                                   ? std::max(m_model->firstTimeMs(), last - m_model->spanMs())
                                   : last - 60'000;
    m_timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(first),
                         QDateTime::fromMSecsSinceEpoch(last));

    QVector<int> columns;
    for (const Line& line : m_lines) {
        if (!line.name.isEmpty()) {
            columns.push_back(m_model->columnOf(line.name));
        }
    }
    const double top = std::max(m_model->maximum(columns) * 1.1, m_minimumTop);
    m_valueAxis->setRange(0, top);
    m_valueAxis->applyNiceNumbers();
    m_valueAxis->setLabelFormat(m_valueAxis->max() >= 10 ? QStringLiteral("%.0f")
                                                         : QStringLiteral("%.3g"));
}

} // namespace switchboard
