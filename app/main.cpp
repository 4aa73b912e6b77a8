// The `switchboard` executable: parses the command line and wires the objects together.

#include "clientcommand.h"
#include "keygencommand.h"
#include "localbrokerlink.h"
#include "monitorcommand.h"
#include "options.h"
#include "systemdnotifier.h"
#include "unixsignalwatcher.h"

#include <brokerfleet.h>
#include <demotraffic.h>
#include <monitorwindow.h>
#include <remotebrokerlink.h>

#include <switchboard/broker/broker.h>
#include <switchboard/broker/brokerthread.h>

#include <QApplication>
#include <QCoreApplication>
#include <QLoggingCategory>
#include <QTextStream>

#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>
#include <zmq.hpp>

namespace {

using switchboard::kUsageError;

void applyLogLevel(const QString& level)
{
    // Qt enables debug output of every non-qt category by default; an operator wants "info".
    QString rules = QStringLiteral("*.debug=false\n");
    if (level == QLatin1String("debug")) {
        rules += QStringLiteral("switchboard.*.debug=true\n");
    } else if (level == QLatin1String("warning")) {
        rules += QStringLiteral("switchboard.*.info=false\n");
    } else if (level == QLatin1String("error")) {
        rules += QStringLiteral("switchboard.*.info=false\nswitchboard.*.warning=false\n");
    }
    QLoggingCategory::setFilterRules(rules);
    qSetMessagePattern(QStringLiteral(
        "%{time yyyy-MM-ddThh:mm:ss.zzz} %{if-debug}debug%{endif}%{if-info}info%{endif}"
        "%{if-warning}warning%{endif}%{if-critical}error%{endif}%{if-fatal}fatal%{endif} "
        "%{category}: %{message}"));
}

void setApplicationNames()
{
    QCoreApplication::setApplicationName(QStringLiteral("switchboard"));
    QCoreApplication::setOrganizationName(QStringLiteral("Switchboard"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SWITCHBOARD_VERSION));
}

// QApplication aborts the process when it finds no display; say what to do instead. A platform
// chosen explicitly (QT_QPA_PLATFORM=offscreen, vnc, ...) needs no display variable.
bool hasDisplay(QTextStream& err, const QString& alternative)
{
    if (!qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") ||
        !qEnvironmentVariableIsEmpty("DISPLAY") ||
        !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
        return true;
    }
    err << "switchboard: no display for the monitor window (DISPLAY is not set); " << alternative
        << Qt::endl;
    return false;
}

// The endpoint a peer in this process connects to for one the broker bound.
std::string peerEndpoint(const QString& bound)
{
    QString endpoint = bound;
    endpoint.replace(QLatin1String("//0.0.0.0:"), QLatin1String("//127.0.0.1:"));
    endpoint.replace(QLatin1String("//*:"), QLatin1String("//127.0.0.1:"));
    return endpoint.toStdString();
}

void printReady(QTextStream& out, const QStringList& frontends, const QStringList& backends,
                const QStringList& admins, const QString& metrics,
                const switchboard::BrokerConfig& config)
{
    for (const auto& endpoint : frontends) {
        out << "frontend " << endpoint << '\n';
    }
    for (const auto& endpoint : backends) {
        out << "backend " << endpoint << '\n';
    }
    for (const auto& endpoint : admins) {
        out << "admin " << endpoint << '\n';
    }
    if (!metrics.isEmpty()) {
        out << "metrics http://" << metrics << "/metrics\n";
    }
    out << "switchboard ready (heartbeat " << config.heartbeatInterval.count() << " ms x "
        << config.liveness << ", max queue " << config.maxQueuePerService
        << " per service, request timeout " << config.requestTimeout.count() << " ms); Ctrl+C stops"
        << Qt::endl;
}

// systemd's STATUS= line (`systemctl status switchboard`): what an operator would check first.
QString readyStatus(const QStringList& frontends, const QStringList& backends,
                    const QStringList& admins)
{
    QString status = QStringLiteral("serving; frontend ") + frontends.join(QLatin1Char(' ')) +
                     QStringLiteral("; backend ") + backends.join(QLatin1Char(' '));
    if (!admins.isEmpty()) {
        status += QStringLiteral("; admin ") + admins.join(QLatin1Char(' '));
    }
    return status;
}

std::unique_ptr<switchboard::demo::DemoTraffic> startDemo(zmq::context_t& context,
                                                          const QStringList& frontends,
                                                          const QStringList& backends,
                                                          QTextStream& out)
{
    auto demo = std::make_unique<switchboard::demo::DemoTraffic>(
        context, peerEndpoint(frontends.first()), peerEndpoint(backends.first()));
    demo->start();
    out << "demo: workers for math, search, billing and reports, and clients calling them"
        << Qt::endl;
    return demo;
}

// SIGHUP: the operator changed the authorized keys (the directory watch may have seen it too).
// Called on the broker's thread, directly or through a queued call.
void reloadKeys(switchboard::Broker& broker)
{
    QMetaObject::invokeMethod(&broker, [&broker] {
        const QString summary = broker.reloadKeys();
        if (summary.isEmpty()) {
            qInfo("SIGHUP: no CURVE, no keys to re-read");
        } else {
            qInfo("SIGHUP: authorized keys re-read: %s", qPrintable(summary));
        }
    });
}

// Starts a Broker or BrokerThread; an endpoint that cannot be bound or an unusable key is said in
// one line.
template <typename Broker>
bool started(Broker& broker, QTextStream& err)
{
    try {
        broker.start();
        return true;
    } catch (const switchboard::Error& error) {
        err << "switchboard: " << QString::fromStdString(error.what()) << Qt::endl;
        return false;
    }
}

int runHeadless(const switchboard::Options& options, QTextStream& out, QTextStream& err)
{
    // Declared before the broker so it outlives it: destroying the context waits (up to the
    // sockets' linger) for the last replies and DISCONNECTs to leave.
    zmq::context_t context;
    switchboard::Broker broker(options.broker, context);
    if (!started(broker, err)) {
        return kUsageError;
    }

    // One watcher for all three: it owns the process's signal pipe.
    switchboard::UnixSignalWatcher signalWatcher({SIGINT, SIGTERM, SIGHUP});
    QObject::connect(&broker, &switchboard::Broker::shutDown, QCoreApplication::instance(),
                     &QCoreApplication::quit);

    printReady(out, broker.frontendEndpoints(), broker.backendEndpoints(), broker.adminEndpoints(),
               broker.metricsAddress(), broker.config());
    std::unique_ptr<switchboard::demo::DemoTraffic> demo;
    if (options.demo) {
        demo = startDemo(context, broker.frontendEndpoints(), broker.backendEndpoints(), out);
        // Before the broker's shutdown, so that it answers the demo's last calls and no more
        // follow; the demo's threads are joined once the loop has returned.
        QObject::connect(&signalWatcher, &switchboard::UnixSignalWatcher::received, &broker,
                         [&demo](int signal) {
                             if (signal != SIGHUP) {
                                 demo->requestStop();
                             }
                         });
    }
    // No RELOADING=1 around SIGHUP: systemd 252 would take it for a second reload of its own
    // after ExecReload's kill has returned (docs/DEPLOYMENT.md).
    switchboard::SystemdNotifier systemd;
    QObject::connect(&signalWatcher, &switchboard::UnixSignalWatcher::received, &broker,
                     [&broker, &systemd](int signal) {
                         if (signal == SIGHUP) {
                             reloadKeys(broker);
                         } else {
                             systemd.notifyStopping();
                             broker.shutdown();
                         }
                     });
    systemd.startWatchdog(broker);
    systemd.notifyReady(readyStatus(broker.frontendEndpoints(), broker.backendEndpoints(),
                                    broker.adminEndpoints()));
    const int exitCode = QCoreApplication::exec();
    demo.reset();
    return exitCode;
}

// The broker on a thread of its own, so that painting never delays routing, and the window on
// this one.
int runWithMonitor(int& argc, char** argv, const switchboard::Options& options, QTextStream& out,
                   QTextStream& err)
{
    QApplication app(argc, argv);
    setApplicationNames();
    zmq::context_t context;
    switchboard::BrokerThread brokerThread(options.broker, context);
    if (!started(brokerThread, err)) {
        return kUsageError;
    }
    printReady(out, brokerThread.frontendEndpoints(), brokerThread.backendEndpoints(),
               brokerThread.adminEndpoints(), brokerThread.metricsAddress(), options.broker);
    std::unique_ptr<switchboard::demo::DemoTraffic> demo;
    if (options.demo) {
        demo = startDemo(context, brokerThread.frontendEndpoints(), brokerThread.backendEndpoints(),
                         out);
    }
    switchboard::SystemdNotifier systemd;
    // The pings come from the broker's thread: a window that keeps painting must not hide a
    // stalled routing loop.
    systemd.startWatchdog(*brokerThread.broker());
    int exitCode = 0;
    {
        switchboard::LocalBrokerLink link(*brokerThread.broker());
        switchboard::MonitorWindow window(link);
        window.show();
        switchboard::UnixSignalWatcher signalWatcher({SIGINT, SIGTERM, SIGHUP});
        QObject::connect(&signalWatcher, &switchboard::UnixSignalWatcher::received, &window,
                         [&window, &brokerThread](int signal) {
                             if (signal == SIGHUP) {
                                 reloadKeys(*brokerThread.broker());
                             } else {
                                 window.close();
                             }
                         });
        systemd.notifyReady(readyStatus(brokerThread.frontendEndpoints(),
                                        brokerThread.backendEndpoints(),
                                        brokerThread.adminEndpoints()));
        exitCode = QApplication::exec();
    }
    // A signal or the window closed: either way the broker now drains and stops.
    systemd.notifyStopping();
    if (demo) {
        demo->requestStop();
    }
    brokerThread.stop();
    demo.reset();
    return exitCode;
}

int runAttachedMonitor(int& argc, char** argv, const switchboard::MonitorOptions& options)
{
    QApplication app(argc, argv);
    setApplicationNames();
    zmq::context_t context;
    switchboard::AdminClient::Options pollOptions;
    pollOptions.pollInterval = options.pollInterval;
    pollOptions.curve = options.curve;
    // One window for all: the fleet combines the links, the window reads only the fleet.
    std::vector<std::unique_ptr<switchboard::RemoteBrokerLink>> links;
    switchboard::BrokerFleet fleet;
    for (const QString& endpoint : options.endpoints) {
        links.push_back(
            std::make_unique<switchboard::RemoteBrokerLink>(endpoint, context, pollOptions));
        fleet.addLink(*links.back());
    }
    switchboard::MonitorWindow window(fleet);
    window.show();
    switchboard::UnixSignalWatcher signalWatcher({SIGINT, SIGTERM});
    QObject::connect(&signalWatcher, &switchboard::UnixSignalWatcher::received, &window,
                     &QWidget::close);
    return QApplication::exec();
}

} // namespace

int main(int argc, char* argv[])
{
    // Parsing needs an application object; the window needs a QApplication, which in turn needs
    // a display, so it is made only once the command line asks for a window.
    std::optional<QCoreApplication> parsing;
    parsing.emplace(argc, argv);
    setApplicationNames();

    QTextStream out(stdout);
    QTextStream err(stderr);
    const QStringList arguments = QCoreApplication::arguments();
    if (switchboard::isKeygenCommand(arguments)) {
        return switchboard::runOrExit(
            switchboard::parseKeygenCommandLine(arguments), out, err,
            [&](const auto& options) { return switchboard::runKeygenCommand(options, out, err); });
    }
    if (switchboard::isClientCommand(arguments)) {
        return switchboard::runOrExit(
            switchboard::parseClientCommandLine(arguments), out, err,
            [&](const auto& options) { return switchboard::runClientCommand(options, out, err); });
    }
    if (switchboard::isMonitorCommand(arguments)) {
        return switchboard::runOrExit(
            switchboard::parseMonitorCommandLine(arguments), out, err, [&](const auto& options) {
                if (!hasDisplay(err, QStringLiteral("run switchboard monitor on a desktop"))) {
                    return switchboard::kUsageError;
                }
                applyLogLevel(QStringLiteral("info"));
                parsing.reset();
                return runAttachedMonitor(argc, argv, options);
            });
    }
    return switchboard::runOrExit(
        switchboard::parseCommandLine(arguments), out, err, [&](const auto& options) {
            applyLogLevel(options.logLevel);
            if (options.noGui) {
                return runHeadless(options, out, err);
            }
            if (!hasDisplay(err, QStringLiteral("run the broker headless with --no-gui (and "
                                                "watch it from a desktop with switchboard "
                                                "monitor --attach)"))) {
                return switchboard::kUsageError;
            }
            parsing.reset();
            return runWithMonitor(argc, argv, options, out, err);
        });
}
