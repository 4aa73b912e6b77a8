#pragma once

#include "brokerlink.h"
#include "fleetsnapshot.h"

#include <QElapsedTimer>
#include <QMainWindow>

#include <functional>
#include <memory>

class QAction;
class QLabel;
class QLineEdit;
class QSplitter;
class QTimer;

namespace switchboard {

class BrokerFleet;
class BrokerHistory;
class BrokerTableModel;
class EventLogModel;
class MethodTableModel;
class ServiceTableModel;
class TablePane;
class TimeSeriesChart;
class WorkerTableModel;

// The operator's dashboard over one BrokerLink, or several brokers as one BrokerFleet: workers,
// services, methods and events as sortable, filterable tables, the last minutes as charts, the
// link and the broker's totals in the status bar, and the one command an operator needs in a
// hurry: evict a worker.
//
// Everything shown comes from the links' snapshots, through the BrokerFleet. With one broker,
// while the link is not connected, or no snapshot arrived for a while (staleAfterMs()), a banner
// says so and the tables are greyed. With several, a table of brokers comes first, every table
// has a Broker column, totals and charts sum the brokers that are up, a method's latencies are
// those of its merged histograms, and the rows of a broker that is down are greyed on their own;
// the banner appears only when none is up.
//
// Widgets tests may look up by objectName: "workersTable", "servicesTable", "methodsTable",
// "eventsTable", "brokersTable" (with several brokers) (QTableView), "<same without Table>Title"
// (QLabel), "filter" (QLineEdit), "staleBanner", "connectionState", "endpoints", "uptime", "totals"
// (QLabel), "queueDepthChart", "throughputChart", "latencyChart" (TimeSeriesChart),
// "commandFailedDialog" (QMessageBox).
//
// Geometry, window state, splitters and every table's header (column order, widths, sort) are
// saved to QSettings under "MonitorWindow/" ("MonitorWindowBrokers/" for several brokers) on close
// and restored on construction.
class MonitorWindow : public QMainWindow {
    Q_OBJECT
public:
    // Asked before an eviction with the question to put to the operator; true goes ahead.
    using Confirmation = std::function<bool(const QString& question)>;

    // The link must outlive the window.
    explicit MonitorWindow(BrokerLink& link, QWidget* parent = nullptr);
    // The fleet, with all its links added, must outlive the window.
    explicit MonitorWindow(BrokerFleet& fleet, QWidget* parent = nullptr);
    ~MonitorWindow() override;

    // Replaces the default Yes/No QMessageBox, so that tests (or a scripted session) can answer.
    void setEvictionConfirmation(Confirmation confirm);
    // Enabled only while connected and a live (not expired) worker is selected.
    QAction* evictAction() const { return m_evictAction; }

    // Snapshots older than this, while still connected, mark the view stale. Default: 5 s, or
    // three snapshot intervals if the broker publishes more slowly.
    int staleAfterMs() const { return m_staleAfterMs; }
    void setStaleAfterMs(int ms);
    bool isStale() const;

    // The window as it would appear on screen, after every pending layout and chart update.
    QImage render();

    // Also done by closeEvent(); call it when the window goes without being closed.
    void saveSettings() const;

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    MonitorWindow(std::unique_ptr<BrokerFleet> owned, BrokerFleet* fleet, QWidget* parent);
    bool severalBrokers() const;
    QList<TablePane*> panes() const;
    // With one broker, its link: what the window's single-broker texts are about.
    BrokerLink& onlyLink() const;

    void buildTables();
    void buildCharts();
    void buildToolBar();
    void buildStatusBar();
    void restoreSettings();

    void onSnapshot(int broker, const BrokerSnapshot& snapshot);
    void onFleetUpdated(const FleetSnapshot& fleet);
    void onLinkStateChanged(int broker, BrokerLink::State state);
    void onCommandFinished(int broker, const QString& command, bool ok, const QString& message);
    void evictSelectedWorker();
    void updateEvictAction();
    const WorkerRow* selectedWorker() const;
    void keepWorkerSelected(int broker, const QByteArray& identity);
    void checkFreshness();
    void setStale(bool stale);
    void showLinkState();
    void showBrokersState();
    void showTitles(const FleetSnapshot& fleet);
    void showStatus(const FleetSnapshot& fleet);
    static bool askOperator(QWidget* parent, const QString& question);

    std::unique_ptr<BrokerFleet> m_ownFleet; // of the one link given, else empty
    BrokerFleet& m_fleet;
    BrokerTableModel* m_brokers;
    WorkerTableModel* m_workers;
    ServiceTableModel* m_services;
    MethodTableModel* m_methods;
    EventLogModel* m_events;
    BrokerHistory* m_history;

    TablePane* m_brokersPane = nullptr; // with several brokers only
    TablePane* m_workersPane = nullptr;
    TablePane* m_servicesPane = nullptr;
    TablePane* m_methodsPane = nullptr;
    TablePane* m_eventsPane = nullptr;
    TimeSeriesChart* m_queueChart = nullptr;
    TimeSeriesChart* m_throughputChart = nullptr;
    TimeSeriesChart* m_latencyChart = nullptr;
    QList<QSplitter*> m_splitters;
    QLabel* m_staleBanner = nullptr;
    QAction* m_evictAction = nullptr;
    QLineEdit* m_filter = nullptr;
    QLabel* m_connectionLabel = nullptr;
    QLabel* m_endpointsLabel = nullptr;
    QLabel* m_uptimeLabel = nullptr;
    QLabel* m_totalsLabel = nullptr;
    QLabel* m_heldBanner = nullptr; // while answers wait for clients that do not read
    QTimer* m_freshnessTimer = nullptr;

    Confirmation m_confirm;
    QElapsedTimer m_sinceSnapshot;
    std::int64_t m_lastSnapshotTimeMs = 0;
    std::int64_t m_lastChartedMs = 0;
    int m_staleAfterMs = 5000;
    bool m_staleAfterSetByUser = false;
    bool m_freshSinceConnect = false;
    bool m_stale = false;
};

} // namespace switchboard
