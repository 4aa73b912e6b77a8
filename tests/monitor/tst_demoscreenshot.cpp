// The dashboard as a newcomer first sees it: `switchboard --demo`'s workers and clients on a real
// broker, the window on a LocalBrokerLink, rendered to a PNG once the charts hold some history.
// The PNG goes to SWITCHBOARD_DEMO_SCREENSHOT, else monitor-demo.png beside this binary;
// SWITCHBOARD_DEMO_SECONDS (default 12) sets how much history the charts get first.
// docs/images/monitor.png is one such rendering.

#include "localbrokerlink.h"
#include "methodtablemodel.h"
#include "monitorwindow.h"
#include "servicetablemodel.h"
#include "testbroker.h"
#include "windowlookup.h"
#include "workertablemodel.h"

#include <demotraffic.h>

#include <QCoreApplication>
#include <QDir>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>

#include <chrono>

using namespace switchboard;
using namespace switchboard::test;
using namespace std::chrono_literals;

namespace {

QSet<QString> column(const QTableView* view, int column)
{
    QSet<QString> values;
    for (int row = 0; row < view->model()->rowCount(); ++row) {
        values << view->model()->index(row, column).data().toString();
    }
    return values;
}

qint64 sum(const QTableView* view, int column)
{
    qint64 total = 0;
    for (int row = 0; row < view->model()->rowCount(); ++row) {
        total += view->model()->index(row, column).data(Qt::UserRole).toLongLong();
    }
    return total;
}

} // namespace

class TestDemoScreenshot : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void dashboardWithDemoTraffic();
};

void TestDemoScreenshot::dashboardWithDemoTraffic()
{
    const int seconds = qEnvironmentVariableIsSet("SWITCHBOARD_DEMO_SECONDS")
                            ? qEnvironmentVariableIntValue("SWITCHBOARD_DEMO_SECONDS")
                            : 12;
    BrokerConfig config;
    config.snapshotInterval = 250ms;
    TestBroker broker(config);
    LocalBrokerLink link(*broker.broker());
    MonitorWindow window(link);
    window.show();
    QSignalSpy snapshots(&link, &BrokerLink::snapshotReceived);

    demo::DemoTraffic demo(broker.context(), broker.frontend(), broker.backend());
    demo.start();

    // Every demo service is listed with its workers, and every method has been called.
    QTableView* services = table(window, "servicesTable");
    QTableView* methods = table(window, "methodsTable");
    QTableView* workers = table(window, "workersTable");
    const QSet<QString> demoServices{"math", "search", "billing", "reports"};
    QTRY_VERIFY_WITH_TIMEOUT(column(services, ServiceTableModel::Name).contains(demoServices),
                             20000);
    QTRY_VERIFY_WITH_TIMEOUT(column(workers, WorkerTableModel::Service).contains(demoServices),
                             20000);
    const QSet<QString> demoMethods{"add", "divide", "fib", "query", "charge", "render"};
    QTRY_VERIFY_WITH_TIMEOUT(column(methods, MethodTableModel::Method).contains(demoMethods),
                             20000);
    // The charts get `seconds` of history: one snapshot every 250 ms.
    QTRY_VERIFY_WITH_TIMEOUT(snapshots.count() >= seconds * 4, (seconds + 20) * 1000);
    QVERIFY(sum(methods, MethodTableModel::Calls) > 100);

    const QImage image = window.render();
    const QString path = qEnvironmentVariableIsSet("SWITCHBOARD_DEMO_SCREENSHOT")
                             ? qEnvironmentVariable("SWITCHBOARD_DEMO_SCREENSHOT")
                             : QDir(QCoreApplication::applicationDirPath())
                                   .filePath(QStringLiteral("monitor-demo.png"));
    QVERIFY2(image.save(path), qPrintable(path));
    qInfo("dashboard with demo traffic rendered to %s", qPrintable(path));
    QVERIFY(image.width() >= 1200 && image.height() >= 800);

    demo.requestStop();
    demo.stop();
}

QTEST_MAIN(TestDemoScreenshot)
#include "tst_demoscreenshot.moc"
