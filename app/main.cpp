// The `switchboard` executable: parses the command line and wires the objects together.

#include "clientcommand.h"
#include "options.h"
#include "unixsignalwatcher.h"

#include <switchboard/broker/broker.h>

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QTextStream>

#include <csignal>
#include <cstdio>
#include <zmq.hpp>

namespace {

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

} // namespace

int main(int argc, char* argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("switchboard"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SWITCHBOARD_VERSION));

    QTextStream out(stdout);
    QTextStream err(stderr);
    if (switchboard::isClientCommand(QCoreApplication::arguments())) {
        return switchboard::runClientCommand(QCoreApplication::arguments(), out, err);
    }
    const auto commandLine = switchboard::parseCommandLine(QCoreApplication::arguments());
    if (!commandLine.options) {
        out << commandLine.output;
        if (!commandLine.error.isEmpty()) {
            err << commandLine.error << Qt::endl;
        }
        return commandLine.exitCode;
    }
    const auto& options = *commandLine.options;
    applyLogLevel(options.logLevel);

    // Declared before the broker so it outlives it: destroying the context waits (up to the
    // sockets' linger) for the last replies and DISCONNECTs to leave.
    zmq::context_t context;
    switchboard::Broker broker(options.broker, context);
    try {
        broker.start();
    } catch (const switchboard::BindError& error) {
        err << "switchboard: " << QString::fromStdString(error.what()) << Qt::endl;
        return 2;
    }

    switchboard::UnixSignalWatcher signalWatcher({SIGINT, SIGTERM});
    QObject::connect(&signalWatcher, &switchboard::UnixSignalWatcher::received, &broker,
                     &switchboard::Broker::shutdown);
    QObject::connect(&broker, &switchboard::Broker::shutDown, &app, &QCoreApplication::quit);

    for (const auto& endpoint : broker.frontendEndpoints()) {
        out << "frontend " << endpoint << '\n';
    }
    for (const auto& endpoint : broker.backendEndpoints()) {
        out << "backend " << endpoint << '\n';
    }
    for (const auto& endpoint : broker.adminEndpoints()) {
        out << "admin " << endpoint << '\n';
    }
    const auto& config = broker.config();
    out << "switchboard ready (heartbeat " << config.heartbeatInterval.count() << " ms x "
        << config.liveness << ", max queue " << config.maxQueuePerService
        << " per service, request timeout " << config.requestTimeout.count() << " ms); Ctrl+C stops"
        << Qt::endl;

    return QCoreApplication::exec();
}
