// MonitorWindow: what the window says about the broker it watches: the link's state, the titles of
// the tables and charts, and the status bar.

#include "monitorwindow.h"

#include "brokerhistory.h"
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

QString joined(const QStringList& endpoints)
{
    return endpoints.isEmpty() ? QStringLiteral("–") : endpoints.join(QStringLiteral(", "));
}

} // namespace

void MonitorWindow::showLinkState()
{
    const QString description = m_link.description();
    QString state;
    QString style;
    switch (m_link.state()) {
    case BrokerLink::State::Connected:
        state = tr("Connected to %1").arg(description);
        style = QStringLiteral("color: #1b5e20; font-weight: bold;");
        break;
    case BrokerLink::State::Connecting:
        state = tr("Connecting to %1…").arg(description);
        style = QStringLiteral("background: #ffb74d; color: black; font-weight: bold;");
        break;
    case BrokerLink::State::Disconnected:
        state = tr("Disconnected from %1, reconnecting").arg(description);
        style = QStringLiteral("background: #c62828; color: white; font-weight: bold;");
        break;
    case BrokerLink::State::Incompatible:
        state = tr("Cannot read %1: %2").arg(description, m_link.problem());
        style = QStringLiteral("background: #c62828; color: white; font-weight: bold;");
        break;
    }
    m_connectionLabel->setText(state);
    m_connectionLabel->setStyleSheet(style);

    if (!m_stale) {
        m_staleBanner->hide();
        return;
    }
    const QString since = m_lastSnapshotTimeMs > 0
                              ? tr("The tables show the last snapshot received, from %1.")
                                    .arg(QDateTime::fromMSecsSinceEpoch(m_lastSnapshotTimeMs)
                                             .toString(QStringLiteral("HH:mm:ss")))
                              : tr("No snapshot received yet.");
    QString banner;
    if (m_link.state() == BrokerLink::State::Connected) {
        banner =
            m_freshSinceConnect
                ? tr("No snapshot from %1 for more than %2. %3")
                      .arg(description, units::span(m_staleAfterMs), since)
                : tr("Connected to %1, waiting for the first snapshot. %2").arg(description, since);
    } else {
        banner = state + QStringLiteral(". ") + since;
    }
    const bool alarming = m_link.state() == BrokerLink::State::Disconnected ||
                          m_link.state() == BrokerLink::State::Incompatible ||
                          (m_link.state() == BrokerLink::State::Connected && m_freshSinceConnect);
    m_staleBanner->setText(banner);
    m_staleBanner->setStyleSheet(alarming ? QStringLiteral("background: #c62828; color: white; "
                                                           "font-weight: bold;")
                                          : QStringLiteral("background: #ffe0b2; color: black;"));
    m_staleBanner->show();
}

void MonitorWindow::showTitles(const BrokerSnapshot& snapshot)
{
    int busy = 0;
    int late = 0;
    int expired = 0;
    for (const WorkerStats& worker : snapshot.workers) {
        busy += worker.state == WorkerStats::State::Busy;
        late += worker.state == WorkerStats::State::Late;
        expired += worker.state == WorkerStats::State::Expired;
    }
    QStringList parts;
    parts << tr("%n busy", nullptr, busy);
    if (late > 0) {
        parts << tr("%n late", nullptr, late);
    }
    if (expired > 0) {
        parts << tr("%n expired", nullptr, expired);
    }
    m_workersPane->setTitle(tr("Workers: %1 (%2)")
                                .arg(snapshot.workers.size() - expired)
                                .arg(parts.join(QStringLiteral(", "))));

    qsizetype queued = 0;
    qsizetype starved = 0;
    for (const ServiceStats& service : snapshot.services) {
        queued += service.queueDepth > 0;
        starved += ServiceTableModel::isStarved(service);
    }
    QString services = tr("Services: %1").arg(snapshot.services.size());
    if (queued > 0) {
        services += tr(" (%1 with a queue").arg(queued) +
                    (starved > 0 ? tr(", %1 without workers)").arg(starved) : QStringLiteral(")"));
    }
    m_servicesPane->setTitle(services);
    m_methodsPane->setTitle(
        tr("Methods: %1 (latency over the broker's window)").arg(snapshot.methods.size()));
    m_eventsPane->setTitle(tr("Events: newest of %1").arg(m_events->rowCount()));
}

void MonitorWindow::showStatus(const BrokerSnapshot& snapshot)
{
    m_endpointsLabel->setText(
        tr("clients %1 · workers %2")
            .arg(joined(snapshot.frontendEndpoints), joined(snapshot.backendEndpoints)));
    m_endpointsLabel->setToolTip(tr("Frontend (clients): %1\nBackend (workers): %2\nAdmin: %3")
                                     .arg(joined(snapshot.frontendEndpoints),
                                          joined(snapshot.backendEndpoints),
                                          joined(snapshot.adminEndpoints)));
    m_uptimeLabel->setText(tr("up %1 · broker %2")
                               .arg(units::span(snapshot.uptimeMs), snapshot.version.isEmpty()
                                                                        ? QStringLiteral("?")
                                                                        : snapshot.version));
    const BrokerTotals& totals = snapshot.totals;
    const auto live =
        std::count_if(snapshot.workers.begin(), snapshot.workers.end(),
                      [](const WorkerStats& w) { return w.state != WorkerStats::State::Expired; });
    m_totalsLabel->setText(tr("%1 req/s · requests %2 · replies %3 · errors %4 · workers %5")
                               .arg(units::rate(totals.requestsPerSecond),
                                    units::count(totals.requests), units::count(totals.replies),
                                    units::count(totals.errors))
                               .arg(live));
    m_heldBanner->setVisible(totals.slowClients > 0);
    if (totals.slowClients > 0) {
        const auto clients = [](std::uint64_t n) {
            return n == 1 ? tr("1 client") : tr("%1 clients").arg(units::count(n));
        };
        QString held = tr("%1 answers (%2) are held for %3 not reading; they go out as soon as "
                          "%4.")
                           .arg(units::count(totals.heldReplies),
                                units::bytes(totals.heldReplyBytes), clients(totals.slowClients),
                                totals.slowClients == 1 ? tr("it reads") : tr("they read"));
        if (totals.clientsAtBound > 0) {
            held += tr(" %1 at the bound of unread answers (--max-held-per-client, "
                       "--max-held-bytes) %2 QueueFull for new requests.")
                        .arg(clients(totals.clientsAtBound),
                             totals.clientsAtBound == 1 ? tr("gets") : tr("get"));
        }
        m_heldBanner->setText(held);
    }
    m_totalsLabel->setToolTip(
        tr("Expired %1, queue full %2, worker lost %3, malformed %4\n"
           "Workers registered %5, purged %6, evicted %7\n"
           "Re-dispatched after a worker died %8, late replies dropped %9\n"
           "Answers held for clients not reading: %10 now (%11), %12 since start; "
           "dropped (client gone) %13; requests refused for unread answers %14, discarded %15\n"
           "Handed back by workers that were full (DECLINE) %16")
            .arg(units::count(totals.expired), units::count(totals.queueFull),
                 units::count(totals.workerLost), units::count(totals.malformed),
                 units::count(totals.workersRegistered), units::count(totals.workersPurged),
                 units::count(totals.workersEvicted), units::count(totals.requeued),
                 units::count(totals.lateReplies))
            .arg(units::count(totals.heldReplies), units::bytes(totals.heldReplyBytes),
                 units::count(totals.repliesHeld), units::count(totals.repliesDropped),
                 units::count(totals.refusedUnread), units::count(totals.requestsDiscarded))
            .arg(units::count(totals.declined)));
}

} // namespace switchboard
