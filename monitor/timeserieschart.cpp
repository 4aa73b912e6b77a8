#include "timeserieschart.h"

#include "timeseriesmodel.h"

#include <QDateTime>
#include <QDateTimeAxis>
#include <QGraphicsLayout>
#include <QLegend>
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
                                 const QString& valueTitle, double minimumTop, QWidget* parent)
    : QChartView(parent)
    , m_model(model)
    , m_timeAxis(new QDateTimeAxis)
    , m_valueAxis(new QValueAxis)
    , m_minimumTop(minimumTop)
{
    auto* chart = new QChart;
    chart->setTitle(title);
    QFont titleFont = chart->titleFont();
    titleFont.setBold(true);
    chart->setTitleFont(titleFont);
    chart->setAnimationOptions(QChart::NoAnimation); // a new point every second: keep it still
    chart->setMargins(QMargins(4, 2, 4, 2));
    chart->layout()->setContentsMargins(0, 0, 0, 0);
    chart->setBackgroundRoundness(0);
    chart->legend()->setAlignment(Qt::AlignBottom);

    m_timeAxis->setFormat(QStringLiteral("HH:mm:ss"));
    m_timeAxis->setTitleText(tr("local time"));
    m_timeAxis->setTickCount(6);
    m_valueAxis->setTitleText(valueTitle);
    m_valueAxis->setMin(0);
    chart->addAxis(m_timeAxis, Qt::AlignBottom);
    chart->addAxis(m_valueAxis, Qt::AlignLeft);
    setChart(chart);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(320, 220);

    connect(model, &QAbstractItemModel::rowsInserted, this, &TimeSeriesChart::refresh);
    connect(model, &QAbstractItemModel::rowsRemoved, this, &TimeSeriesChart::refresh);
    connect(model, &QAbstractItemModel::columnsInserted, this, &TimeSeriesChart::refresh);
    connect(model, &QAbstractItemModel::columnsRemoved, this, &TimeSeriesChart::refresh);
    connect(model, &QAbstractItemModel::modelReset, this, &TimeSeriesChart::refresh);
    connect(model, &QAbstractItemModel::dataChanged, this, &TimeSeriesChart::refresh);
    refresh();
}

TimeSeriesChart::~TimeSeriesChart()
{
    // The mappers must let go of the model and series before either is destroyed.
    for (const Line& line : m_lines) {
        line.mapper->setModel(nullptr);
        delete line.mapper;
    }
}

void TimeSeriesChart::setMaxSeries(int maxSeries)
{
    m_maxSeries = std::clamp(maxSeries, 1, static_cast<int>(std::size(kPalette)));
    refresh();
}

QStringList TimeSeriesChart::seriesNames() const
{
    QStringList names;
    for (const Line& line : m_lines) {
        names.push_back(line.name);
    }
    return names;
}

QLineSeries* TimeSeriesChart::series(const QString& name) const
{
    for (const Line& line : m_lines) {
        if (line.name == name) {
            return line.series;
        }
    }
    return nullptr;
}

void TimeSeriesChart::refresh()
{
    QStringList wanted;
    for (const int column : m_model->largestColumns(m_maxSeries)) {
        wanted.push_back(m_model->seriesName(column));
    }

    // Lines that stay keep their series (and colour); only their column may have moved.
    for (auto it = m_lines.begin(); it != m_lines.end();) {
        if (wanted.contains(it->name)) {
            const int column = m_model->columnOf(it->name);
            if (it->mapper->yColumn() != column) {
                it->mapper->setYColumn(column);
            }
            ++it;
            continue;
        }
        it->mapper->setModel(nullptr);
        delete it->mapper;
        chart()->removeSeries(it->series);
        delete it->series;
        it = m_lines.erase(it);
    }
    for (const QString& name : wanted) {
        if (!series(name)) {
            addLine(name, m_model->columnOf(name));
        }
    }
    updateAxes();
}

void TimeSeriesChart::addLine(const QString& name, int column)
{
    Line line;
    line.name = name;
    line.series = new QLineSeries;
    line.series->setName(name);
    QPen pen(unusedColor());
    pen.setWidthF(2);
    line.series->setPen(pen);
    chart()->addSeries(line.series);
    line.series->attachAxis(m_timeAxis);
    line.series->attachAxis(m_valueAxis);
    line.mapper = new QVXYModelMapper;
    line.mapper->setXColumn(TimeSeriesModel::TimeColumn);
    line.mapper->setYColumn(column);
    line.mapper->setSeries(line.series);
    line.mapper->setModel(m_model);
    m_lines.push_back(line);
}

QColor TimeSeriesChart::unusedColor() const
{
    for (const QColor& color : kPalette) {
        const bool used = std::any_of(m_lines.begin(), m_lines.end(), [&](const Line& line) {
            return line.series->pen().color() == color;
        });
        if (!used) {
            return color;
        }
    }
    return kPalette[0];
}

void TimeSeriesChart::updateAxes()
{
    // The whole span, even while the history is shorter, so that time runs at the same scale
    // from the first snapshot on and "now" is always at the right edge.
    const std::int64_t last =
        m_model->rowCount() > 0 ? m_model->lastTimeMs() : QDateTime::currentMSecsSinceEpoch();
    m_timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(last - m_model->spanMs()),
                         QDateTime::fromMSecsSinceEpoch(last));

    QVector<int> columns;
    for (const Line& line : m_lines) {
        columns.push_back(m_model->columnOf(line.name));
    }
    const double top = std::max(m_model->maximum(columns) * 1.1, m_minimumTop);
    m_valueAxis->setRange(0, top);
    m_valueAxis->applyNiceNumbers();
    m_valueAxis->setLabelFormat(m_valueAxis->max() >= 10 ? QStringLiteral("%.0f")
                                                         : QStringLiteral("%.3g"));
}

} // namespace switchboard
