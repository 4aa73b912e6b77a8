#include "monitorwindow.h"

#include "brokerfleet.h"
#include "brokerhistory.h"
#include "brokertablemodel.h"
#include "eventlogmodel.h"
#include "logging.h"
#include "methodtablemodel.h"
#include "servicetablemodel.h"
#include "tablepane.h"
#include "timeserieschart.h"
#include "units.h"
#include "workertablemodel.h"

#include <QAction>
#include <QCloseEvent>
#include <QCoreApplication>
#include <QDateTime>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include <algorithm>
#include <exception>

namespace switchboard {

namespace {

const QString kSettingsGroup = QStringLiteral("MonitorWindow");
// A window on several brokers has one more table and more columns: a layout saved by one kind
// would squeeze the other's.
const QString kSeveralBrokersSettingsGroup = QStringLiteral("MonitorWindowBrokers");
constexpr int kMinimumStaleAfterMs = 5000;
constexpr int kCommandMessageMs = 15000;

QSplitter* makeSplitter(Qt::Orientation orientation, const QString& name, QWidget* parent)
{
    auto* splitter = new QSplitter(orientation, parent);
    splitter->setObjectName(name);
    splitter->setChildrenCollapsible(false);
    return splitter;
}

} // namespace

namespace {

std::unique_ptr<BrokerFleet> fleetOf(BrokerLink& link)
{
    auto fleet = std::make_unique<BrokerFleet>();
    fleet->addLink(link);
    return fleet;
}

} // namespace

MonitorWindow::MonitorWindow(BrokerLink& link, QWidget* parent)
    : MonitorWindow(fleetOf(link), nullptr, parent)
{}

MonitorWindow::MonitorWindow(BrokerFleet& fleet, QWidget* parent)
    : MonitorWindow(nullptr, &fleet, parent)
{}

MonitorWindow::MonitorWindow(std::unique_ptr<BrokerFleet> owned, BrokerFleet* fleet,
                             QWidget* parent)
    : QMainWindow(parent)
    , m_ownFleet(std::move(owned))
    , m_fleet(fleet ? *fleet : *m_ownFleet)
    , m_brokers(new BrokerTableModel(this))
    , m_workers(new WorkerTableModel(this))
    , m_services(new ServiceTableModel(this))
    , m_methods(new MethodTableModel(this))
    , m_events(new EventLogModel(this))
    , m_history(new BrokerHistory(TimeSeriesModel::kDefaultSpanMs, this))
    , m_confirm([this](const QString& question) { return askOperator(this, question); })
{
    setObjectName(QStringLiteral("monitorWindow"));
    Q_ASSERT(m_fleet.size() > 0);
    setWindowTitle(severalBrokers()
                       ? tr("Switchboard monitor – %n brokers", nullptr, m_fleet.size())
                       : tr("Switchboard monitor – %1").arg(onlyLink().description()));

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(4, 4, 4, 0);
    layout->setSpacing(4);
    m_staleBanner = new QLabel(central);
    m_staleBanner->setObjectName(QStringLiteral("staleBanner"));
    m_staleBanner->setMargin(6);
    m_staleBanner->setWordWrap(true);
    m_staleBanner->hide();
    layout->addWidget(m_staleBanner);
    // Answers waiting for clients that stopped reading: seen before the bound refuses their
    // requests, gone again once they read. The status bar has no room left for a sentence.
    m_heldBanner = new QLabel(central);
    m_heldBanner->setObjectName(QStringLiteral("heldBanner"));
    m_heldBanner->setMargin(6);
    m_heldBanner->setWordWrap(true);
    m_heldBanner->setStyleSheet(
        QStringLiteral("background: #fff3e0; color: #e65100; border: 1px solid #e65100;"));
    m_heldBanner->hide();
    layout->addWidget(m_heldBanner);

    auto* mainSplitter = makeSplitter(Qt::Vertical, QStringLiteral("mainSplitter"), central);
    m_splitters.push_back(mainSplitter);
    layout->addWidget(mainSplitter, 1);
    setCentralWidget(central);

    buildTables();
    buildCharts();
    buildToolBar();
    buildStatusBar();

    connect(&m_fleet, &BrokerFleet::snapshotReceived, this, &MonitorWindow::onSnapshot);
    connect(&m_fleet, &BrokerFleet::updated, this, &MonitorWindow::onFleetUpdated);
    connect(&m_fleet, &BrokerFleet::linkStateChanged, this, &MonitorWindow::onLinkStateChanged);
    connect(&m_fleet, &BrokerFleet::commandFinished, this, &MonitorWindow::onCommandFinished);

    m_freshnessTimer = new QTimer(this);
    m_freshnessTimer->setInterval(1000);
    connect(m_freshnessTimer, &QTimer::timeout, this, &MonitorWindow::checkFreshness);
    m_freshnessTimer->start();

    restoreSettings();
    // Whatever a saved header says: the Broker columns are for a window on several brokers.
    m_workersPane->setColumnHidden(WorkerTableModel::Broker, !severalBrokers());
    m_servicesPane->setColumnHidden(ServiceTableModel::Broker, !severalBrokers());
    m_methodsPane->setColumnHidden(MethodTableModel::Broker, !severalBrokers());
    m_eventsPane->setColumnHidden(EventLogModel::Broker, !severalBrokers());
    setStale(true); // until the first snapshot
    if (severalBrokers()) {
        onFleetUpdated(m_fleet.current());
    }
    showLinkState();
    updateEvictAction();
}

QList<TablePane*> MonitorWindow::panes() const
{
    QList<TablePane*> all{m_workersPane, m_servicesPane, m_methodsPane, m_eventsPane};
    if (m_brokersPane) {
        all.prepend(m_brokersPane);
    }
    return all;
}

bool MonitorWindow::severalBrokers() const
{
    return m_fleet.size() > 1;
}

BrokerLink& MonitorWindow::onlyLink() const
{
    return m_fleet.link(0);
}

MonitorWindow::~MonitorWindow()
{
    // Views and charts go first: they hold the models, which are this window's children too.
    delete takeCentralWidget();
}

void MonitorWindow::buildTables()
{
    auto* mainSplitter = m_splitters.front();
    if (severalBrokers()) {
        m_brokersPane = new TablePane(QStringLiteral("brokers"), m_brokers, mainSplitter);
        m_brokersPane->setDefaultSort(BrokerTableModel::Broker, Qt::AscendingOrder);
        m_brokersPane->setTitle(tr("Brokers"));
        mainSplitter->addWidget(m_brokersPane);
    }
    auto* top = makeSplitter(Qt::Horizontal, QStringLiteral("workersSplitter"), mainSplitter);
    auto* middle = makeSplitter(Qt::Horizontal, QStringLiteral("servicesSplitter"), mainSplitter);
    m_splitters.push_back(top);
    m_splitters.push_back(middle);

    m_workersPane = new TablePane(QStringLiteral("workers"), m_workers, top);
    m_eventsPane = new TablePane(QStringLiteral("events"), m_events, top);
    m_servicesPane = new TablePane(QStringLiteral("services"), m_services, middle);
    m_methodsPane = new TablePane(QStringLiteral("methods"), m_methods, middle);
    top->addWidget(m_workersPane);
    top->addWidget(m_eventsPane);
    middle->addWidget(m_servicesPane);
    middle->addWidget(m_methodsPane);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);
    middle->setStretchFactor(0, 2);
    middle->setStretchFactor(1, 3);
    if (severalBrokers()) {
        // The Broker columns need the room; the event log's text may be cut (it has tooltips).
        top->setSizes({1120, 390});
        middle->setSizes({725, 785});
    } else {
        top->setSizes({1000, 400});
        middle->setSizes({660, 740});
    }

    // The worst first: expired and late workers, the slowest methods, the newest events.
    m_workersPane->setDefaultSort(WorkerTableModel::State, Qt::DescendingOrder);
    m_servicesPane->setDefaultSort(ServiceTableModel::Name, Qt::AscendingOrder);
    m_methodsPane->setDefaultSort(MethodTableModel::P99, Qt::DescendingOrder);
    m_eventsPane->setDefaultSort(EventLogModel::Time, Qt::DescendingOrder);
    m_eventsPane->view()->setSelectionMode(QAbstractItemView::ExtendedSelection);

    QTableView* workers = m_workersPane->view();
    connect(workers->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MonitorWindow::updateEvictAction);
    // A selected worker may expire or vanish with the next snapshot.
    connect(m_workers, &QAbstractItemModel::dataChanged, this, &MonitorWindow::updateEvictAction);
    connect(m_workers, &QAbstractItemModel::rowsRemoved, this, &MonitorWindow::updateEvictAction);

    m_workersPane->setTitle(tr("Workers"));
    m_servicesPane->setTitle(tr("Services"));
    m_methodsPane->setTitle(tr("Methods"));
    m_eventsPane->setTitle(tr("Events"));
}

void MonitorWindow::buildCharts()
{
    auto* mainSplitter = m_splitters.front();
    auto* charts = makeSplitter(Qt::Horizontal, QStringLiteral("chartsSplitter"), mainSplitter);
    m_splitters.push_back(charts);
    m_queueChart =
        new TimeSeriesChart(m_history->queueDepth(), tr("Queue depth per service"),
                            tr("requests queued"), 4, TimeSeriesChart::kDefaultMaxSeries, charts);
    m_queueChart->setObjectName(QStringLiteral("queueDepthChart"));
    m_throughputChart =
        new TimeSeriesChart(m_history->throughput(), tr("Throughput per method"), tr("calls/s"), 1,
                            TimeSeriesChart::kDefaultMaxSeries, charts);
    m_throughputChart->setObjectName(QStringLiteral("throughputChart"));
    m_latencyChart = new TimeSeriesChart(m_history->latencyP99(), tr("p99 latency per method"),
                                         tr("p99 latency (ms)"), 0.1,
                                         TimeSeriesChart::kDefaultMaxSeries, charts);
    m_latencyChart->setObjectName(QStringLiteral("latencyChart"));
    charts->addWidget(m_queueChart);
    charts->addWidget(m_throughputChart);
    charts->addWidget(m_latencyChart);
    mainSplitter->addWidget(charts);
    for (int i = 0; i < mainSplitter->count(); ++i) {
        mainSplitter->setStretchFactor(i, 1);
    }
    if (severalBrokers()) {
        // The broker table as tall as its rows, the rest as with one broker.
        const int brokers = 44 + 20 * m_fleet.size();
        mainSplitter->setSizes({brokers, 260, 250, 330 - brokers / 2});
    } else {
        mainSplitter->setSizes({260, 250, 330});
    }
}

void MonitorWindow::buildToolBar()
{
    auto* toolBar = addToolBar(tr("Actions"));
    toolBar->setObjectName(QStringLiteral("actionsToolBar"));
    toolBar->setMovable(false);
    toolBar->setToolButtonStyle(Qt::ToolButtonTextOnly);

    m_evictAction = new QAction(tr("Evict worker…"), this);
    m_evictAction->setObjectName(QStringLiteral("evictAction"));
    m_evictAction->setToolTip(
        tr("Disconnect the selected worker; a request it holds goes to another worker if the "
           "client marked it idempotent, else it fails with WorkerLost"));
    m_evictAction->setShortcut(QKeySequence::Delete);
    m_evictAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(m_evictAction, &QAction::triggered, this, &MonitorWindow::evictSelectedWorker);
    toolBar->addAction(m_evictAction);

    QTableView* workers = m_workersPane->view();
    workers->addAction(m_evictAction);
    workers->setContextMenuPolicy(Qt::ActionsContextMenu);

    toolBar->addSeparator();
    auto* filterLabel = new QLabel(tr(" Filter: "), toolBar);
    toolBar->addWidget(filterLabel);
    m_filter = new QLineEdit(toolBar);
    m_filter->setObjectName(QStringLiteral("filter"));
    m_filter->setPlaceholderText(tr("service, worker, method or event text"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setMaximumWidth(360);
    m_filter->setMinimumWidth(280);
    filterLabel->setBuddy(m_filter);
    toolBar->addWidget(m_filter);
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        // Not the brokers: filtering by a service must not hide which brokers are down.
        for (TablePane* pane : {m_workersPane, m_servicesPane, m_methodsPane, m_eventsPane}) {
            pane->setFilterText(text);
        }
    });
}

void MonitorWindow::buildStatusBar()
{
    const auto addLabel = [this](const QString& name) {
        auto* label = new QLabel(statusBar());
        label->setObjectName(name);
        label->setContentsMargins(6, 0, 6, 0);
        statusBar()->addPermanentWidget(label);
        return label;
    };
    m_connectionLabel = addLabel(QStringLiteral("connectionState"));
    m_endpointsLabel = addLabel(QStringLiteral("endpoints"));
    m_uptimeLabel = addLabel(QStringLiteral("uptime"));
    m_totalsLabel = addLabel(QStringLiteral("totals"));
}

void MonitorWindow::restoreSettings()
{
    QSettings settings;
    settings.beginGroup(severalBrokers() ? kSeveralBrokersSettingsGroup : kSettingsGroup);
    if (!restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray())) {
        // Several brokers add a table and a Broker column to three others.
        resize(severalBrokers() ? QSize(1520, 960) : QSize(1400, 900));
    }
    restoreState(settings.value(QStringLiteral("windowState")).toByteArray());
    for (QSplitter* splitter : std::as_const(m_splitters)) {
        splitter->restoreState(
            settings.value(QStringLiteral("splitters/") + splitter->objectName()).toByteArray());
    }
    for (TablePane* pane : panes()) {
        pane->restoreHeaderState(
            settings.value(QStringLiteral("headers/") + pane->objectName()).toByteArray());
    }
}

void MonitorWindow::saveSettings() const
{
    QSettings settings;
    settings.beginGroup(severalBrokers() ? kSeveralBrokersSettingsGroup : kSettingsGroup);
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("windowState"), saveState());
    for (const QSplitter* splitter : m_splitters) {
        settings.setValue(QStringLiteral("splitters/") + splitter->objectName(),
                          splitter->saveState());
    }
    for (const TablePane* pane : panes()) {
        settings.setValue(QStringLiteral("headers/") + pane->objectName(), pane->headerState());
    }
}

void MonitorWindow::closeEvent(QCloseEvent* event)
{
    saveSettings();
    QMainWindow::closeEvent(event);
}

void MonitorWindow::setEvictionConfirmation(Confirmation confirm)
{
    m_confirm = confirm ? std::move(confirm)
                        : Confirmation([this](const QString& q) { return askOperator(this, q); });
}

void MonitorWindow::setStaleAfterMs(int ms)
{
    m_staleAfterMs = std::max(ms, 1);
    m_staleAfterSetByUser = true;
    m_freshnessTimer->setInterval(std::clamp(m_staleAfterMs / 2, 10, 1000));
}

bool MonitorWindow::isStale() const
{
    return m_stale;
}

QImage MonitorWindow::render()
{
    ensurePolished();
    if (QLayout* windowLayout = layout()) {
        windowLayout->activate();
    }
    // Charts lay themselves out through posted layout requests, one level per round.
    for (int round = 0; round < 3; ++round) {
        QCoreApplication::sendPostedEvents();
    }
    return grab().toImage();
}

void MonitorWindow::onSnapshot(int broker, const BrokerSnapshot& snapshot)
{
    try {
        m_events->update(snapshot, broker, m_fleet.current().brokers.value(broker).label);
        if (severalBrokers()) {
            return; // each broker's freshness is its link's business; the fleet says who is up
        }
        if (!m_staleAfterSetByUser && m_lastSnapshotTimeMs > 0 &&
            snapshot.timeMs > m_lastSnapshotTimeMs) {
            const auto interval = snapshot.timeMs - m_lastSnapshotTimeMs;
            m_staleAfterMs = static_cast<int>(
                std::clamp<std::int64_t>(3 * interval, kMinimumStaleAfterMs, 10 * 60 * 1000));
        }
        m_lastSnapshotTimeMs = snapshot.timeMs;
        m_sinceSnapshot.start();
    } catch (const std::exception& error) {
        // A snapshot the view cannot take must not take the event loop down with it.
        qCWarning(lcMonitor) << "snapshot" << snapshot.sequence << "not shown:" << error.what();
    }
}

void MonitorWindow::onFleetUpdated(const FleetSnapshot& fleet)
{
    try {
        const WorkerRow* selected = selectedWorker();
        const auto selectedBroker = selected ? selected->broker : -1;
        const QByteArray selectedIdentity = selected ? selected->identity : QByteArray();
        m_brokers->update(fleet);
        m_workers->update(fleet);
        if (!selectedIdentity.isEmpty()) {
            keepWorkerSelected(selectedBroker, selectedIdentity);
        }
        m_services->update(fleet);
        m_methods->update(fleet);
        // The charts take a point per new snapshot, not per change of a link's state.
        if (fleet.combined.timeMs > m_lastChartedMs) {
            m_lastChartedMs = fleet.combined.timeMs;
            m_history->update(fleet.combined);
        }
        showTitles(fleet);
        showStatus(fleet);

        if (severalBrokers()) {
            const bool anyUp = fleet.brokersUp > 0;
            m_freshSinceConnect = anyUp;
            if (anyUp) {
                m_lastSnapshotTimeMs = fleet.combined.timeMs;
            }
            setStale(!anyUp);
            showLinkState(); // who is up may have changed
        } else if (fleet.brokersUp > 0) {
            m_freshSinceConnect = true;
            setStale(false);
        }
        updateEvictAction();
    } catch (const std::exception& error) {
        qCWarning(lcMonitor) << "brokers not shown:" << error.what();
    }
}

void MonitorWindow::onLinkStateChanged(int broker, BrokerLink::State state)
{
    qCInfo(lcMonitor) << "link" << m_fleet.link(broker).description() << "is now" << state;
    if (severalBrokers()) {
        showLinkState(); // the fleet's update that follows greys that broker's rows
        updateEvictAction();
        return;
    }
    setWindowTitle(tr("Switchboard monitor – %1").arg(onlyLink().description()));
    m_freshSinceConnect = false;
    setStale(true);
    showLinkState();
    updateEvictAction();
}

void MonitorWindow::checkFreshness()
{
    if (severalBrokers() || onlyLink().state() != BrokerLink::State::Connected ||
        !m_freshSinceConnect) {
        return;
    }
    if (m_sinceSnapshot.isValid() && m_sinceSnapshot.elapsed() > m_staleAfterMs) {
        setStale(true);
    }
}

void MonitorWindow::setStale(bool stale)
{
    const bool changed = stale != m_stale;
    m_stale = stale;
    m_workers->setStale(stale);
    m_services->setStale(stale);
    m_methods->setStale(stale);
    if (changed) {
        showLinkState();
    }
}

const WorkerRow* MonitorWindow::selectedWorker() const
{
    const QModelIndexList rows = m_workersPane->view()->selectionModel()->selectedRows();
    if (rows.isEmpty()) {
        return nullptr;
    }
    return m_workers->worker(m_workersPane->proxy()->mapToSource(rows.front()).row());
}

void MonitorWindow::keepWorkerSelected(int broker, const QByteArray& identity)
{
    // When the selected row goes, the view selects a neighbour; an operator pressing Evict again
    // would then evict a worker they never chose. The selection stays with the worker or goes.
    QTableView* view = m_workersPane->view();
    for (int row = 0; row < m_workers->rowCount(); ++row) {
        const WorkerRow* worker = m_workers->worker(row);
        if (worker->broker == broker && worker->identity == identity) {
            const QModelIndex at = m_workersPane->proxy()->mapFromSource(m_workers->index(row, 0));
            if (at.isValid() && !view->selectionModel()->isRowSelected(at.row())) {
                view->selectRow(at.row());
            }
            return;
        }
    }
    view->selectionModel()->clear();
}

void MonitorWindow::updateEvictAction()
{
    const WorkerRow* worker = selectedWorker();
    const bool live = worker && worker->state != WorkerStats::State::Expired && !worker->brokerDown;
    m_evictAction->setEnabled(live &&
                              m_fleet.link(worker->broker).state() == BrokerLink::State::Connected);
}

void MonitorWindow::evictSelectedWorker()
{
    const WorkerRow* selected = selectedWorker();
    if (!selected || selected->state == WorkerStats::State::Expired || selected->brokerDown ||
        m_fleet.link(selected->broker).state() != BrokerLink::State::Connected) {
        return;
    }
    // A copy: snapshots keep arriving while the operator reads the question.
    const WorkerRow worker = *selected;
    const QString consequence =
        worker.currentMethod.isEmpty() && worker.state != WorkerStats::State::Busy
            ? tr("Its in-flight request, if it takes one meanwhile, goes to another worker if "
                 "the client marked it idempotent, else it will fail with WorkerLost.")
            : tr("Its in-flight request (%1, running for %2) goes to another worker if the "
                 "client marked it idempotent, else it will fail with WorkerLost.")
                  .arg(worker.currentMethod, units::fromMilliseconds(worker.busyForMs));
    const QString question =
        severalBrokers() ? tr("Evict worker %1 of service %2 from broker %3?\n\n%4")
                               .arg(worker.name, worker.service, worker.brokerName, consequence)
                         : tr("Evict worker %1 of service %2?\n\n%3")
                               .arg(worker.name, worker.service, consequence);
    if (!m_confirm(question)) {
        statusBar()->showMessage(tr("Eviction of %1 cancelled").arg(worker.name),
                                 kCommandMessageMs);
        return;
    }
    qCInfo(lcMonitor) << "evicting worker" << worker.name << "of" << worker.service;
    statusBar()->showMessage(tr("Evicting %1…").arg(worker.name));
    // To the broker the worker is connected to: another broker would answer NoSuchWorker.
    m_fleet.evictWorker(worker.broker, worker.identity);
}

void MonitorWindow::onCommandFinished(int broker, const QString& asked, bool ok,
                                      const QString& message)
{
    const QString command =
        severalBrokers() ? tr("%1: %2").arg(m_fleet.link(broker).description(), asked) : asked;
    if (ok) {
        qCInfo(lcMonitor) << command << "done";
        statusBar()->showMessage(tr("%1: done").arg(command), kCommandMessageMs);
        return;
    }
    qCWarning(lcMonitor) << command << "failed:" << message;
    statusBar()->showMessage(tr("%1 failed: %2").arg(command, message), kCommandMessageMs);
    // Not exec(): snapshots keep the window live while the dialog is up.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Command failed"),
                                tr("%1 failed:\n%2").arg(command, message), QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("commandFailedDialog"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

bool MonitorWindow::askOperator(QWidget* parent, const QString& question)
{
    return QMessageBox::question(parent, tr("Evict worker"), question,
                                 QMessageBox::Yes | QMessageBox::No,
                                 QMessageBox::No) == QMessageBox::Yes;
}

} // namespace switchboard
