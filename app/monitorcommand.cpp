#include "monitorcommand.h"

#include "clientkeyoptions.h"

namespace switchboard {

bool isMonitorCommand(const QStringList& arguments)
{
    return arguments.size() > 1 && arguments.at(1) == QLatin1String("monitor");
}

CommandLine<MonitorOptions> parseMonitorCommandLine(const QStringList& arguments)
{
    const MonitorOptions defaults;
    CommandParser parser(
        QStringLiteral("switchboard monitor"), QStringLiteral("switchboard monitor"),
        QStringLiteral(
            "Opens the monitor window on brokers that run elsewhere, through their admin "
            "endpoints (switchboard --admin): one broker, or several in one window. When a "
            "broker goes away the window says so and reconnects by itself."));
    const QCommandLineOption attach(
        QStringLiteral("attach"),
        QStringLiteral("A broker's admin endpoint (default %1). Repeat it to watch several "
                       "brokers in one window.")
            .arg(defaults.endpoints.front()),
        QStringLiteral("endpoint"), defaults.endpoints.front());
    const QCommandLineOption poll(
        QStringLiteral("poll-ms"),
        QStringLiteral("How often to ask for a snapshot, in ms (default %1).")
            .arg(defaults.pollInterval.count()),
        QStringLiteral("ms"), QString::number(defaults.pollInterval.count()));
    const ClientKeyOptions keys(QStringLiteral("monitor"));
    parser.addOptions({attach, poll});
    parser.addOptions(keys.options());

    const QString helpTail = QStringLiteral("\nExamples:\n"
                                            "  switchboard monitor\n"
                                            "      Watch the broker on this machine.\n"
                                            "  switchboard monitor --attach tcp://10.0.0.5:5557\n"
                                            "      Watch a broker started with --admin "
                                            "tcp://0.0.0.0:5557 on 10.0.0.5.\n"
                                            "  switchboard monitor --attach tcp://10.0.0.5:5557 "
                                            "--attach tcp://10.0.0.6:5557\n"
                                            "      Watch two brokers in one window: totals and "
                                            "latencies across both.\n"
                                            "\nExit codes: 0 when the window is closed, 2 for a "
                                            "usage error or no display.\n");
    if (auto exit = parser.parseSubcommandOrExit(arguments, QStringLiteral("monitor"), helpTail)) {
        return *exit;
    }
    if (!parser.positionalArguments().isEmpty()) {
        return parser.usageError(
            QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));
    }
    MonitorOptions options;
    options.endpoints.clear();
    for (const QString& endpoint : parser.values(attach)) {
        if (!endpoint.contains(QLatin1String("://"))) {
            return parser.usageError(QStringLiteral("--attach takes an endpoint such as "
                                                    "tcp://127.0.0.1:5557, not '%1'")
                                         .arg(endpoint));
        }
        if (options.endpoints.contains(endpoint)) {
            return parser.usageError(QStringLiteral("--attach %1 is given twice").arg(endpoint));
        }
        options.endpoints << endpoint;
    }
    if (options.endpoints.isEmpty()) {
        options.endpoints = defaults.endpoints;
    }
    const auto pollMs = wholeNumber(parser, poll, 50, 60000);
    if (const auto* error = std::get_if<QString>(&pollMs)) {
        return parser.usageError(*error);
    }
    options.pollInterval = std::chrono::milliseconds(std::get<qint64>(pollMs));
    if (const QString error = keys.pairError(parser); !error.isEmpty()) {
        return parser.usageError(error);
    }
    auto credentials = keys.read(parser);
    if (const auto* error = std::get_if<QString>(&credentials)) {
        return parser.usageError(*error);
    }
    options.curve = std::get<curve::ClientCredentials>(std::move(credentials));
    return options;
}

} // namespace switchboard
