#include "monitorcommand.h"

#include <QCommandLineParser>

namespace switchboard {

namespace {

MonitorCommandLine usageError(const QString& message)
{
    MonitorCommandLine result;
    result.exitCode = 2;
    result.error =
        QStringLiteral("switchboard monitor: %1 (see switchboard monitor --help)").arg(message);
    return result;
}

} // namespace

bool isMonitorCommand(const QStringList& arguments)
{
    return arguments.size() > 1 && arguments.at(1) == QLatin1String("monitor");
}

MonitorCommandLine parseMonitorCommandLine(const QStringList& arguments)
{
    const MonitorOptions defaults;
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Opens the monitor window on a broker that runs elsewhere, through its admin endpoint "
        "(switchboard --admin). When the broker goes away the window says so and reconnects by "
        "itself."));
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help and exit."));
    const QCommandLineOption attach(
        QStringLiteral("attach"),
        QStringLiteral("The broker's admin endpoint (default %1).").arg(defaults.endpoint),
        QStringLiteral("endpoint"), defaults.endpoint);
    const QCommandLineOption poll(
        QStringLiteral("poll-ms"),
        QStringLiteral("How often to ask for a snapshot, in ms (default %1).")
            .arg(defaults.pollInterval.count()),
        QStringLiteral("ms"), QString::number(defaults.pollInterval.count()));
    const QCommandLineOption serverKey(
        QStringLiteral("server-key"),
        QStringLiteral("With CURVE: the broker's public key file (its .pub)."),
        QStringLiteral("file"));
    const QCommandLineOption ownKey(
        QStringLiteral("key"),
        QStringLiteral("With CURVE: this monitor's key pair (a .key from switchboard keygen)."),
        QStringLiteral("file"));
    parser.addOptions({help, attach, poll, serverKey, ownKey});

    QStringList rest = arguments;
    rest.removeAt(1); // "monitor"
    if (!parser.parse(rest)) {
        QString text = parser.errorText();
        if (text.endsWith(QLatin1Char('.'))) {
            text.chop(1);
        }
        return usageError(text);
    }
    if (parser.isSet(help)) {
        MonitorCommandLine result;
        result.output = parser.helpText().replace(QStringLiteral("[options]"),
                                                  QStringLiteral("monitor [options]")) +
                        QStringLiteral("\nExamples:\n"
                                       "  switchboard monitor\n"
                                       "      Watch the broker on this machine.\n"
                                       "  switchboard monitor --attach tcp://10.0.0.5:5557\n"
                                       "      Watch a broker started with --admin "
                                       "tcp://0.0.0.0:5557 on 10.0.0.5.\n"
                                       "\nExit codes: 0 when the window is closed, 2 for a "
                                       "usage error or no display.\n");
        return result;
    }
    if (!parser.positionalArguments().isEmpty()) {
        return usageError(
            QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));
    }
    MonitorOptions options;
    options.endpoint = parser.value(attach);
    if (!options.endpoint.contains(QLatin1String("://"))) {
        return usageError(QStringLiteral("--attach takes an endpoint such as "
                                         "tcp://127.0.0.1:5557, not '%1'")
                              .arg(options.endpoint));
    }
    bool ok = false;
    const int pollMs = parser.value(poll).toInt(&ok);
    if (!ok || pollMs < 50 || pollMs > 60000) {
        return usageError(QStringLiteral("--poll-ms takes a whole number from 50 to 60000, not "
                                         "'%1'")
                              .arg(parser.value(poll)));
    }
    options.pollInterval = std::chrono::milliseconds(pollMs);
    if (parser.isSet(serverKey) != parser.isSet(ownKey)) {
        return usageError(QStringLiteral("--server-key and --key go together: CURVE needs the "
                                         "broker's public key and this monitor's key pair"));
    }
    if (parser.isSet(serverKey)) {
        try {
            options.curve = curve::ClientCredentials::fromFiles(
                parser.value(serverKey).toStdString(), parser.value(ownKey).toStdString());
        } catch (const curve::KeyError& error) {
            return usageError(QString::fromUtf8(error.what()));
        }
    }
    MonitorCommandLine result;
    result.options = options;
    return result;
}

} // namespace switchboard
