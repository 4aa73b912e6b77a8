#include "options.h"

#include <QCommandLineParser>
#include <QCoreApplication>

#include <limits>

namespace switchboard {

namespace {

constexpr int kUsageError = 2;

CommandLine usageError(const QString& message)
{
    CommandLine result;
    result.exitCode = kUsageError;
    result.error = QStringLiteral("switchboard: %1 (see switchboard --help)").arg(message);
    return result;
}

// A whole number in [minimum, maximum], or an error naming the option.
std::optional<qint64> positiveNumber(const QCommandLineParser& parser, const QString& name,
                                     qint64 minimum, qint64 maximum, QString& error)
{
    bool ok = false;
    const QString text = parser.value(name);
    const qint64 value = text.toLongLong(&ok);
    if (!ok || value < minimum || value > maximum) {
        error = QStringLiteral("--%1 takes a whole number from %2 to %3, not '%4'")
                    .arg(name)
                    .arg(minimum)
                    .arg(maximum)
                    .arg(text);
        return std::nullopt;
    }
    return value;
}

// A size in bytes or a count, with an optional suffix K, M or G (powers of 1024), in
// [minimum, maximum], or an error naming the option.
std::optional<qint64> sizeValue(const QCommandLineParser& parser, const QString& name,
                                qint64 minimum, qint64 maximum, QString& error)
{
    const QString text = parser.value(name);
    QString digits = text.trimmed();
    qint64 unit = 1;
    if (!digits.isEmpty()) {
        switch (digits.back().toUpper().toLatin1()) {
        case 'K':
            unit = qint64{1} << 10;
            break;
        case 'M':
            unit = qint64{1} << 20;
            break;
        case 'G':
            unit = qint64{1} << 30;
            break;
        default:
            break;
        }
        if (unit != 1) {
            digits.chop(1);
        }
    }
    bool ok = false;
    const qint64 count = digits.toLongLong(&ok);
    if (!ok || count < 0 || count > maximum / unit || count * unit < minimum) {
        error = QStringLiteral("--%1 takes a whole number from %2 to %3, optionally with a "
                               "suffix K, M or G (1024, 1024², 1024³), not '%4'")
                    .arg(name)
                    .arg(minimum)
                    .arg(maximum)
                    .arg(text);
        return std::nullopt;
    }
    return count * unit;
}

} // namespace

CommandLine parseCommandLine(const QStringList& arguments)
{
    const BrokerConfig defaults;
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Switchboard: a Majordomo (7/MDP, 18/MDP) RPC broker on ZeroMQ.\n"
        "Clients connect to the frontend, workers to the backend, monitors and operator tools "
        "to the admin endpoint; each option that takes an endpoint may be repeated (tcp://, "
        "ipc://, inproc://). By default the broker runs with its monitor window; --no-gui runs "
        "it headless."));
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help and exit."));
    const QCommandLineOption version({QStringLiteral("v"), QStringLiteral("version")},
                                     QStringLiteral("Show the version and exit."));
    const QCommandLineOption noGui(QStringLiteral("no-gui"),
                                   QStringLiteral("Run the broker headless (no monitor window)."));
    const QCommandLineOption demo(
        QStringLiteral("demo"),
        QStringLiteral("Also run built-in demo workers and clients (services math, search, "
                       "billing, reports), so the monitor has something to show."));
    const QCommandLineOption frontend(QStringLiteral("frontend"),
                                      QStringLiteral("Endpoint for clients (default %1).")
                                          .arg(defaults.frontendEndpoints.join(QLatin1Char(' '))),
                                      QStringLiteral("endpoint"));
    const QCommandLineOption backend(QStringLiteral("backend"),
                                     QStringLiteral("Endpoint for workers (default %1).")
                                         .arg(defaults.backendEndpoints.join(QLatin1Char(' '))),
                                     QStringLiteral("endpoint"));
    const QCommandLineOption admin(
        QStringLiteral("admin"),
        QStringLiteral("Endpoint for monitors (switchboard monitor --attach) and operator "
                       "tools (default %1). Anyone who reaches it can evict workers, so beyond "
                       "loopback it needs CURVE (--curve-key).")
            .arg(defaults.adminEndpoints.join(QLatin1Char(' '))),
        QStringLiteral("endpoint"));
    const QCommandLineOption noAdmin(QStringLiteral("no-admin"),
                                     QStringLiteral("Bind no admin endpoint."));
    const QCommandLineOption snapshot(
        QStringLiteral("snapshot-ms"),
        QStringLiteral("How often the broker takes a snapshot for monitors, in ms (default %1).")
            .arg(defaults.snapshotInterval.count()),
        QStringLiteral("ms"), QString::number(defaults.snapshotInterval.count()));
    const QCommandLineOption heartbeat(
        QStringLiteral("heartbeat-ms"),
        QStringLiteral("Heartbeat interval towards workers, in ms (default %1).")
            .arg(defaults.heartbeatInterval.count()),
        QStringLiteral("ms"), QString::number(defaults.heartbeatInterval.count()));
    const QCommandLineOption liveness(
        QStringLiteral("liveness"),
        QStringLiteral("Heartbeats a worker may miss before it is purged (default %1).")
            .arg(defaults.liveness),
        QStringLiteral("count"), QString::number(defaults.liveness));
    const QCommandLineOption maxQueue(
        QStringLiteral("max-queue"),
        QStringLiteral("Requests that may wait per service; more get QueueFull (default %1).")
            .arg(defaults.maxQueuePerService),
        QStringLiteral("count"), QString::number(defaults.maxQueuePerService));
    const QCommandLineOption maxQueuedBytes(
        QStringLiteral("max-queued-bytes"),
        QStringLiteral("Bytes that waiting requests may take, all services together; more get "
                       "QueueFull. Takes K, M, G (default %1M).")
            .arg(defaults.maxQueuedBytes >> 20),
        QStringLiteral("bytes"), QStringLiteral("%1M").arg(defaults.maxQueuedBytes >> 20));
    const QCommandLineOption maxHeldBytesPerClient(
        QStringLiteral("max-held-per-client"),
        QStringLiteral("Bytes of answers the broker holds for one client that does not read "
                       "them (its socket-hwm pipe is full); past it, the client's new requests "
                       "get QueueFull until it reads. Takes K, M, G (default %1M).")
            .arg(defaults.maxHeldReplyBytesPerClient >> 20),
        QStringLiteral("bytes"),
        QStringLiteral("%1M").arg(defaults.maxHeldReplyBytesPerClient >> 20));
    const QCommandLineOption maxHeldBytes(
        QStringLiteral("max-held-bytes"),
        QStringLiteral("The same bound for all clients together: past it, every client with "
                       "answers held gets QueueFull for new requests. Takes K, M, G (default "
                       "%1M).")
            .arg(defaults.maxHeldReplyBytes >> 20),
        QStringLiteral("bytes"), QStringLiteral("%1M").arg(defaults.maxHeldReplyBytes >> 20));
    const QCommandLineOption maxAttempts(
        QStringLiteral("max-attempts"),
        QStringLiteral("How often a request the client marked idempotent is dispatched, the "
                       "first time included, when the workers holding it die; then WorkerLost. "
                       "1: never re-dispatched (default %1).")
            .arg(defaults.maxAttempts),
        QStringLiteral("count"), QString::number(defaults.maxAttempts));
    const QCommandLineOption socketHwm(
        QStringLiteral("socket-hwm"),
        QStringLiteral("High-water mark of every socket, in messages per peer (ZMQ_SNDHWM, "
                       "ZMQ_RCVHWM). Takes K, M (default %1).")
            .arg(defaults.socketHwm),
        QStringLiteral("count"), QString::number(defaults.socketHwm));
    const QCommandLineOption maxMessageBytes(
        QStringLiteral("max-message-bytes"),
        QStringLiteral("Largest message a client or worker may send (ZMQ_MAXMSGSIZE); a peer "
                       "that sends a larger one is disconnected. Takes K, M, G (default %1M).")
            .arg(defaults.maxMessageBytes >> 20),
        QStringLiteral("bytes"), QStringLiteral("%1M").arg(defaults.maxMessageBytes >> 20));
    const QCommandLineOption requestTimeout(
        QStringLiteral("request-timeout-ms"),
        QStringLiteral("How long a request may wait for a worker before it is answered with an "
                       "Expired or ServiceUnavailable error, in ms (default %1).")
            .arg(defaults.requestTimeout.count()),
        QStringLiteral("ms"), QString::number(defaults.requestTimeout.count()));
    const QCommandLineOption curveKey(
        QStringLiteral("curve-key"),
        QStringLiteral("Turn CURVE on for every endpoint with the broker's key pair, a file from "
                       "switchboard keygen (needs --authorized-keys; docs/SECURITY.md)."),
        QStringLiteral("file"));
    const QCommandLineOption authorizedKeys(
        QStringLiteral("authorized-keys"),
        QStringLiteral("Directory of the public keys (.pub files) allowed to connect: directly "
                       "in it for every endpoint, in its clients/, workers/ or admin/ "
                       "subdirectory for that one. Re-read when it changes and on SIGHUP."),
        QStringLiteral("dir"));
    const QCommandLineOption logLevel(
        QStringLiteral("log-level"),
        QStringLiteral("Least severe messages logged: debug, info, warning or error "
                       "(default info)."),
        QStringLiteral("level"), QStringLiteral("info"));
    parser.addOptions({help,           version,
                       noGui,          demo,
                       frontend,       backend,
                       admin,          noAdmin,
                       snapshot,       heartbeat,
                       liveness,       maxQueue,
                       maxQueuedBytes, maxHeldBytesPerClient,
                       maxHeldBytes,   maxAttempts,
                       socketHwm,      maxMessageBytes,
                       requestTimeout, curveKey,
                       authorizedKeys, logLevel});

    if (!parser.parse(arguments)) {
        QString text = parser.errorText();
        if (text.endsWith(QLatin1Char('.'))) {
            text.chop(1);
        }
        return usageError(text);
    }
    if (parser.isSet(help)) {
        CommandLine result;
        result.output =
            parser.helpText() +
            QStringLiteral(
                "\nExamples:\n"
                "  switchboard\n"
                "      Serve clients on tcp://127.0.0.1:5555, workers on :5556, "
                "monitors on :5557,\n"
                "      and show the monitor window.\n"
                "  switchboard --demo\n"
                "      The same with demo workers and clients: a living dashboard.\n"
                "  switchboard --no-gui\n"
                "      Headless, for a server; watch it with switchboard monitor.\n"
                "  switchboard --no-gui --frontend tcp://0.0.0.0:5555 "
                "--frontend ipc:///run/switchboard.sock\n"
                "      Also serve other machines, and local clients over a Unix "
                "socket.\n"
                "\nCommands (each has --help):\n"
                "  switchboard monitor [--attach EP]\n"
                "      The monitor window alone, on a running broker (default "
                "tcp://127.0.0.1:5557).\n"
                "  switchboard call [--broker EP] [--timeout MS] SERVICE METHOD "
                "[ARG ...]\n"
                "      Call a method through a running broker; prints the result as "
                "JSON.\n"
                "  switchboard services      List services and their live workers.\n"
                "  switchboard describe SERVICE\n"
                "      List a service's methods with their argument types.\n"
                "  switchboard keygen NAME\n"
                "      Write a CURVE key pair, NAME.key and NAME.pub.\n"
                "\nSignals: SIGINT and SIGTERM shut down; SIGHUP re-reads --authorized-keys.\n"
                "\nExit codes: 0 after a clean shutdown (SIGINT, SIGTERM, closing the window), "
                "2 for a usage\nerror, an endpoint that cannot be bound, an unusable key, or no "
                "display for the window.\n");
        return result;
    }
    if (parser.isSet(version)) {
        CommandLine result;
        result.output =
            QStringLiteral("switchboard %1\n").arg(QCoreApplication::applicationVersion());
        return result;
    }
    if (!parser.positionalArguments().isEmpty()) {
        return usageError(
            QStringLiteral(
                "unknown command '%1' (commands: monitor, call, services, describe, keygen)")
                .arg(parser.positionalArguments().first()));
    }

    Options options;
    options.noGui = parser.isSet(noGui);
    options.demo = parser.isSet(demo);
    if (parser.isSet(noAdmin) && parser.isSet(admin)) {
        return usageError(QStringLiteral("--admin and --no-admin contradict each other"));
    }
    if (parser.isSet(noAdmin)) {
        options.broker.adminEndpoints.clear();
    } else if (parser.isSet(admin)) {
        options.broker.adminEndpoints = parser.values(admin);
    }
    if (parser.isSet(frontend)) {
        options.broker.frontendEndpoints = parser.values(frontend);
    }
    if (parser.isSet(backend)) {
        options.broker.backendEndpoints = parser.values(backend);
    }
    if (parser.isSet(curveKey) != parser.isSet(authorizedKeys)) {
        return usageError(QStringLiteral("--curve-key and --authorized-keys go together: the "
                                         "broker's key pair, and the keys it lets in"));
    }
    options.broker.curveKeyFile = parser.value(curveKey);
    options.broker.authorizedKeysDirectory = parser.value(authorizedKeys);
    QString error;
    constexpr qint64 kDay = 24LL * 3600 * 1000;
    const auto heartbeatMs = positiveNumber(parser, heartbeat.names().first(), 1, kDay, error);
    const auto livenessCount = positiveNumber(parser, liveness.names().first(), 1, 1000, error);
    const auto queueBound =
        positiveNumber(parser, maxQueue.names().first(), 1, std::numeric_limits<int>::max(), error);
    const auto timeoutMs = positiveNumber(parser, requestTimeout.names().first(), 1, kDay, error);
    const auto snapshotMs = positiveNumber(parser, snapshot.names().first(), 50, 60000, error);
    const auto queuedBytes =
        sizeValue(parser, maxQueuedBytes.names().first(), 1, std::int64_t{1} << 40, error);
    const auto heldPerClient =
        sizeValue(parser, maxHeldBytesPerClient.names().first(), 1, std::int64_t{1} << 40, error);
    const auto heldTotal =
        sizeValue(parser, maxHeldBytes.names().first(), 1, std::int64_t{1} << 40, error);
    const auto attempts = positiveNumber(parser, maxAttempts.names().first(), 1, 100, error);
    const auto hwm =
        sizeValue(parser, socketHwm.names().first(), 1, std::numeric_limits<int>::max(), error);
    // At least 1 KiB: below that, a valid READY or an error reply could not pass.
    const auto messageBytes =
        sizeValue(parser, maxMessageBytes.names().first(), 1024, std::int64_t{1} << 40, error);
    if (!error.isEmpty()) {
        return usageError(error);
    }
    options.broker.heartbeatInterval = std::chrono::milliseconds(*heartbeatMs);
    options.broker.liveness = static_cast<int>(*livenessCount);
    options.broker.maxQueuePerService = static_cast<std::size_t>(*queueBound);
    options.broker.requestTimeout = std::chrono::milliseconds(*timeoutMs);
    options.broker.snapshotInterval = std::chrono::milliseconds(*snapshotMs);
    options.broker.maxQueuedBytes = static_cast<std::size_t>(*queuedBytes);
    options.broker.maxHeldReplyBytesPerClient = static_cast<std::size_t>(*heldPerClient);
    options.broker.maxHeldReplyBytes = static_cast<std::size_t>(*heldTotal);
    options.broker.maxAttempts = static_cast<int>(*attempts);
    options.broker.socketHwm = static_cast<int>(*hwm);
    options.broker.maxMessageBytes = *messageBytes;

    options.logLevel = parser.value(logLevel);
    static const QStringList levels{QStringLiteral("debug"), QStringLiteral("info"),
                                    QStringLiteral("warning"), QStringLiteral("error")};
    if (!levels.contains(options.logLevel)) {
        return usageError(
            QStringLiteral("--log-level takes debug, info, warning or error, not '%1'")
                .arg(options.logLevel));
    }

    CommandLine result;
    result.options = std::move(options);
    return result;
}

} // namespace switchboard
