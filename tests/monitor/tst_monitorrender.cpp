// The whole window after a minute of synthetic traffic, rendered offscreen and saved as a PNG
// (SWITCHBOARD_MONITOR_SCREENSHOT, else monitorwindow.png beside this binary) for a person to
// look at. What can be checked without eyes is checked here: at the default size every table
// shows all its columns, no header or number is cut, and each chart draws labelled lines.

#include "brokerfleet.h"
#include "monitorwindow.h"
#include "scriptedbrokerlink.h"
#include "synthetictraffic.h"
#include "timeserieschart.h"

#include <QDateTimeAxis>
#include <QDir>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QScrollBar>
#include <QSettings>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QValueAxis>

using namespace switchboard;
using namespace switchboard::test;

namespace {

// SWITCHBOARD_MONITOR_SCREENSHOT names the main PNG; others get a suffix before ".png".
QString screenshotPath(const QString& suffix)
{
    const QString main = qEnvironmentVariableIsSet("SWITCHBOARD_MONITOR_SCREENSHOT")
                             ? qEnvironmentVariable("SWITCHBOARD_MONITOR_SCREENSHOT")
                             : QDir(QCoreApplication::applicationDirPath())
                                   .filePath(QStringLiteral("monitorwindow.png"));
    if (suffix.isEmpty()) {
        return main;
    }
    QString path = main;
    if (path.endsWith(QLatin1String(".png"))) {
        path.chop(4);
    }
    return path + suffix + QStringLiteral(".png");
}

// At the window's size every table shows all its columns: no header or value cut, no scrolling
// sideways (the event log's text may be cut: it has a tooltip).
void checkTablesFit(const MonitorWindow& window)
{
    for (const char* name :
         {"brokersTable", "workersTable", "servicesTable", "methodsTable", "eventsTable"}) {
        auto* view = window.findChild<QTableView*>(QString::fromLatin1(name));
        if (!view) {
            QVERIFY(QLatin1String(name) == QLatin1String("brokersTable")); // one broker: none
            continue;
        }
        QVERIFY2(view->model()->rowCount() > 0, name);
        QHeaderView* header = view->horizontalHeader();
        const QAbstractItemView* asItemView = view;
        for (int visual = 0; visual < header->count() - 1; ++visual) {
            const int column = header->logicalIndex(visual);
            if (header->isSectionHidden(column)) {
                continue; // the Broker column, with one broker
            }
            const QString what =
                QStringLiteral("%1 column %2 (%3)")
                    .arg(QLatin1String(name))
                    .arg(column)
                    .arg(view->model()->headerData(column, Qt::Horizontal).toString());
            QVERIFY2(header->sectionSize(column) >= header->sectionSizeHint(column),
                     qPrintable(what + QStringLiteral(": header cut")));
            if (QLatin1String(name) != QLatin1String("eventsTable")) {
                QVERIFY2(header->sectionSize(column) >= asItemView->sizeHintForColumn(column),
                         qPrintable(what + QStringLiteral(": values cut")));
            }
        }
        if (QLatin1String(name) != QLatin1String("eventsTable")) {
            QVERIFY2(view->horizontalScrollBar()->maximum() == 0,
                     qPrintable(QStringLiteral("%1 needs scrolling sideways").arg(name)));
        }
    }
}

} // namespace

class TestMonitorRender : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void aMinuteOfTrafficIsReadable();
    void lostLinkIsUnmistakable();
    void threeBrokersAreReadable();

private:
    QTemporaryDir m_settingsDir;
};

void TestMonitorRender::initTestCase()
{
    QVERIFY(m_settingsDir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
    QCoreApplication::setOrganizationName(QStringLiteral("switchboard-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_monitorrender"));
}

void TestMonitorRender::aMinuteOfTrafficIsReadable()
{
    ScriptedBrokerLink link(QStringLiteral("tcp://127.0.0.1:5557"));
    MonitorWindow window(link);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    const SyntheticTraffic traffic;
    constexpr int kTicks = 60;
    for (int tick = 0; tick < kTicks; ++tick) {
        link.deliver(traffic.snapshot(tick));
        QCoreApplication::sendPostedEvents(); // what the event loop does between two snapshots
    }
    const QImage image = window.render();

    const QString path = screenshotPath(QString());
    QVERIFY2(image.save(path), qPrintable(path));
    qInfo("rendered to %s", qPrintable(path));
    QCOMPARE(image.size(), window.size() * window.devicePixelRatio());

    checkTablesFit(window);
    if (QTest::currentTestFailed()) {
        return;
    }

    for (const char* name : {"queueDepthChart", "throughputChart", "latencyChart"}) {
        auto* chart = window.findChild<TimeSeriesChart*>(QString::fromLatin1(name));
        QVERIFY(chart);
        const QStringList series = chart->seriesNames();
        QVERIFY2(!series.isEmpty() && series.size() <= TimeSeriesChart::kDefaultMaxSeries, name);
        for (const QString& line : series) {
            QCOMPARE(chart->series(line)->count(), kTicks);
        }
        QVERIFY(!chart->valueAxis()->titleText().isEmpty());
        QVERIFY(!chart->timeAxis()->titleText().isEmpty());
    }
}

void TestMonitorRender::lostLinkIsUnmistakable()
{
    ScriptedBrokerLink link(QStringLiteral("tcp://broker.example:5557"));
    MonitorWindow window(link);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const SyntheticTraffic traffic;
    for (int tick = 0; tick < 20; ++tick) {
        link.deliver(traffic.snapshot(tick));
        QCoreApplication::sendPostedEvents();
    }
    link.setState(BrokerLink::State::Disconnected);
    const QImage image = window.render();
    const QString path = screenshotPath(QStringLiteral("-disconnected"));
    QVERIFY2(image.save(path), qPrintable(path));
    qInfo("rendered to %s", qPrintable(path));

    // The banner spans the window above the tables, where the eye lands first.
    auto* banner = window.findChild<QLabel*>(QStringLiteral("staleBanner"));
    QVERIFY(banner && banner->isVisible());
    QVERIFY(banner->width() > window.width() * 9 / 10);
    auto* workers = window.findChild<QTableView*>(QStringLiteral("workersTable"));
    QVERIFY(banner->mapTo(&window, QPoint(0, 0)).y() < workers->mapTo(&window, QPoint(0, 0)).y());
    QCOMPARE(image.pixelColor(banner->mapTo(&window, QPoint(2, 2)) * window.devicePixelRatio()),
             QColor(0xc6, 0x28, 0x28));
}

void TestMonitorRender::threeBrokersAreReadable()
{
    // Two brokers up, the third down since tick 45 of the same minute of traffic.
    ScriptedBrokerLink eu(SyntheticTraffic(1).adminEndpoint());
    ScriptedBrokerLink us(SyntheticTraffic(2).adminEndpoint());
    ScriptedBrokerLink ap(SyntheticTraffic(3).adminEndpoint());
    BrokerFleet fleet;
    std::int64_t nowMs = SyntheticTraffic().startMs();
    fleet.setClock([&nowMs] { return nowMs; });
    fleet.addLink(eu);
    fleet.addLink(us);
    fleet.addLink(ap);
    MonitorWindow window(fleet);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    constexpr int kTicks = 60;
    constexpr int kDownAt = 45;
    for (int tick = 0; tick < kTicks; ++tick) {
        nowMs = SyntheticTraffic().startMs() + tick * SyntheticTraffic::kIntervalMs;
        eu.deliver(SyntheticTraffic(1).snapshot(tick));
        us.deliver(SyntheticTraffic(2).snapshot(tick));
        if (tick < kDownAt) {
            ap.deliver(SyntheticTraffic(3).snapshot(tick));
        } else if (tick == kDownAt) {
            ap.setState(BrokerLink::State::Disconnected);
        }
        QCoreApplication::sendPostedEvents();
    }
    const QImage image = window.render();
    const QString path = screenshotPath(QStringLiteral("-brokers"));
    QVERIFY2(image.save(path), qPrintable(path));
    qInfo("rendered to %s", qPrintable(path));

    auto* brokers = window.findChild<QTableView*>(QStringLiteral("brokersTable"));
    QVERIFY(brokers && brokers->isVisible());
    QCOMPARE(brokers->model()->rowCount(), 3);
    // Every broker's row is in sight without scrolling.
    QVERIFY(brokers->verticalScrollBar()->maximum() == 0);
    checkTablesFit(window);
}

QTEST_MAIN(TestMonitorRender)
#include "tst_monitorrender.moc"
