#include "options.h"

#include "configfile.h"
#include "configsources.h"

#include <QCoreApplication>
#include <QTextStream>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <limits>
#include <type_traits>
#include <variant>
#include <vector>

// The broker's options as a table: each entry declares one option (name, help text, default) and
// applies it (checks its value and writes it into Options). --help lists them in table order,
// and they are checked in the same order: the first wrong one is the one reported. The config
// file and the SWITCHBOARD_<OPTION> variables take the same options (ConfigSources): their
// values reach `apply` as a command line, so every rule is written once.
namespace switchboard {

namespace {

// One of the broker's options. `apply` writes the parsed value into `options` and returns the
// usage error, empty when the value is fine. `current` reads the value back from `options` as
// the option takes it, for --print-config (without it, the value as given is printed);
// `repeatable` options may be given several times, also in the config file.
struct BrokerOption {
    QCommandLineOption option;
    std::function<QString(const QCommandLineParser& parser, const QCommandLineOption& option,
                          Options& options)>
        apply;
    std::function<QStringList(const Options& options)> current{};
    bool repeatable = false;
};

constexpr qint64 kDayMs = 24LL * 3600 * 1000;
constexpr qint64 kMaxInt = std::numeric_limits<int>::max();
constexpr qint64 kTiB = qint64{1} << 40;

template <typename Field>
qint64 asNumber(const Field& field)
{
    if constexpr (std::is_same_v<Field, std::chrono::milliseconds>) {
        return field.count();
    } else {
        return static_cast<qint64>(field);
    }
}

template <typename Field>
Field fromNumber(qint64 value)
{
    if constexpr (std::is_same_v<Field, std::chrono::milliseconds>) {
        return std::chrono::milliseconds(value);
    } else {
        return static_cast<Field>(value);
    }
}

// A size in bytes or a count, with an optional suffix K, M or G (powers of 1024), in
// [minimum, maximum], or the usage error naming the option.
std::variant<qint64, QString> sizeValue(const QCommandLineParser& parser,
                                        const QCommandLineOption& option, qint64 minimum,
                                        qint64 maximum)
{
    const QString text = parser.value(option);
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
        return QStringLiteral("--%1 takes a whole number from %2 to %3, optionally with a "
                              "suffix K, M or G (1024, 1024², 1024³), not '%4'")
            .arg(option.names().first())
            .arg(minimum)
            .arg(maximum)
            .arg(text);
    }
    return count * unit;
}

QString numberText(qint64 value)
{
    return QString::number(value);
}

// A sizeValue as --help and --print-config show it: with the largest suffix that is exact.
QString sizeText(qint64 value)
{
    for (const auto& [shift, suffix] :
         {std::pair{30, 'G'}, std::pair{20, 'M'}, std::pair{10, 'K'}}) {
        const qint64 unit = qint64{1} << shift;
        if (value != 0 && value % unit == 0) {
            return QString::number(value / unit) + QLatin1Char(suffix);
        }
    }
    return QString::number(value);
}

using Reader = std::variant<qint64, QString> (*)(const QCommandLineParser&,
                                                 const QCommandLineOption&, qint64, qint64);

// An option whose value `read` takes as a number in [minimum, maximum] into the broker's
// `field`; `help` has %1 where the default goes, written by `format`.
template <typename Field>
BrokerOption numberOption(const QString& name, const QString& valueName, const QString& help,
                          Field BrokerConfig::*field, qint64 minimum, qint64 maximum,
                          Reader read = wholeNumber, QString (*format)(qint64) = numberText)
{
    const BrokerConfig defaults;
    const QString defaultText = format(asNumber(defaults.*field));
    return {QCommandLineOption(name, help.arg(defaultText), valueName, defaultText),
            [field, minimum, maximum, read](const QCommandLineParser& parser,
                                            const QCommandLineOption& option, Options& options) {
                const auto value = read(parser, option, minimum, maximum);
                if (const auto* error = std::get_if<QString>(&value)) {
                    return *error;
                }
                options.broker.*field = fromNumber<Field>(std::get<qint64>(value));
                return QString();
            },
            [field, format](const Options& options) {
                return QStringList{format(asNumber(options.broker.*field))};
            }};
}

// The same for a size in bytes or a count that takes the suffixes K, M and G.
template <typename Field>
BrokerOption sizeOption(const QString& name, const QString& valueName, const QString& help,
                        Field BrokerConfig::*field, qint64 minimum, qint64 maximum)
{
    return numberOption(name, valueName, help, field, minimum, maximum, sizeValue, sizeText);
}

QString switchText(bool on)
{
    return on ? QStringLiteral("true") : QStringLiteral("false");
}

// A switch that sets `field`.
BrokerOption flagOption(const QString& name, const QString& help, bool Options::*field)
{
    return {QCommandLineOption(name, help),
            [field](const QCommandLineParser& parser, const QCommandLineOption& option,
                    Options& options) {
                options.*field = parser.isSet(option);
                return QString();
            },
            [field](const Options& options) { return QStringList{switchText(options.*field)}; }};
}

// A repeatable endpoint that replaces the broker's default list in `field` when given; `help`
// has %1 where the defaults go.
BrokerOption endpointOption(const QString& name, const QString& help,
                            QStringList BrokerConfig::*field)
{
    const BrokerConfig defaults;
    return {QCommandLineOption(name, help.arg((defaults.*field).join(QLatin1Char(' '))),
                               QStringLiteral("endpoint")),
            [field](const QCommandLineParser& parser, const QCommandLineOption& option,
                    Options& options) {
                if (parser.isSet(option)) {
                    options.broker.*field = parser.values(option);
                }
                return QString();
            },
            [field](const Options& options) { return options.broker.*field; }, true};
}

std::vector<BrokerOption> runOptions()
{
    return {
        flagOption(QStringLiteral("no-gui"),
                   QStringLiteral("Run the broker headless (no monitor window)."), &Options::noGui),
        flagOption(QStringLiteral("demo"),
                   QStringLiteral("Also run built-in demo workers and clients (services math, "
                                  "search, billing, reports), so the monitor has something to "
                                  "show."),
                   &Options::demo),
    };
}

std::vector<BrokerOption> endpointOptions()
{
    return {
        endpointOption(QStringLiteral("frontend"),
                       QStringLiteral("Endpoint for clients (default %1)."),
                       &BrokerConfig::frontendEndpoints),
        endpointOption(QStringLiteral("backend"),
                       QStringLiteral("Endpoint for workers (default %1)."),
                       &BrokerConfig::backendEndpoints),
        endpointOption(QStringLiteral("admin"),
                       QStringLiteral("Endpoint for monitors (switchboard monitor --attach) and "
                                      "operator tools (default %1). Anyone who reaches it can "
                                      "evict workers, so beyond loopback it needs CURVE "
                                      "(--curve-key)."),
                       &BrokerConfig::adminEndpoints),
        {QCommandLineOption(QStringLiteral("no-admin"), QStringLiteral("Bind no admin endpoint.")),
         [](const QCommandLineParser& parser, const QCommandLineOption& option, Options& options) {
             if (!parser.isSet(option)) {
                 return QString();
             }
             if (parser.isSet(QStringLiteral("admin"))) {
                 return QStringLiteral("--admin and --no-admin contradict each other");
             }
             options.broker.adminEndpoints.clear();
             return QString();
         },
         [](const Options& options) {
             return QStringList{switchText(options.broker.adminEndpoints.isEmpty())};
         }},
    };
}

std::vector<BrokerOption> timingOptions()
{
    return {
        numberOption(QStringLiteral("snapshot-ms"), QStringLiteral("ms"),
                     QStringLiteral("How often the broker takes a snapshot for monitors, in ms "
                                    "(default %1)."),
                     &BrokerConfig::snapshotInterval, 50, 60000),
        numberOption(QStringLiteral("heartbeat-ms"), QStringLiteral("ms"),
                     QStringLiteral("Heartbeat interval towards workers, in ms (default %1)."),
                     &BrokerConfig::heartbeatInterval, 1, kDayMs),
        numberOption(QStringLiteral("liveness"), QStringLiteral("count"),
                     QStringLiteral("Heartbeats a worker may miss before it is purged "
                                    "(default %1)."),
                     &BrokerConfig::liveness, 1, 1000),
    };
}

std::vector<BrokerOption> limitOptions()
{
    const QString bytes = QStringLiteral("bytes");
    const QString count = QStringLiteral("count");
    return {
        numberOption(QStringLiteral("max-queue"), count,
                     QStringLiteral("Requests that may wait per service; more get QueueFull "
                                    "(default %1)."),
                     &BrokerConfig::maxQueuePerService, 1, kMaxInt),
        sizeOption(QStringLiteral("max-queued-bytes"), bytes,
                   QStringLiteral("Bytes that waiting requests may take, all services together; "
                                  "more get QueueFull. Takes K, M, G (default %1)."),
                   &BrokerConfig::maxQueuedBytes, 1, kTiB),
        sizeOption(QStringLiteral("max-held-per-client"), bytes,
                   QStringLiteral("Bytes of answers the broker holds for one client that does "
                                  "not read them (its socket-hwm pipe is full); past it, the "
                                  "client's new requests get QueueFull until it reads. Takes K, "
                                  "M, G (default %1)."),
                   &BrokerConfig::maxHeldReplyBytesPerClient, 1, kTiB),
        sizeOption(QStringLiteral("max-held-bytes"), bytes,
                   QStringLiteral("The same bound for all clients together: past it, every "
                                  "client with answers held gets QueueFull for new requests. "
                                  "Takes K, M, G (default %1)."),
                   &BrokerConfig::maxHeldReplyBytes, 1, kTiB),
        numberOption(QStringLiteral("max-attempts"), count,
                     QStringLiteral("How often a request the client marked idempotent is "
                                    "dispatched, the first time included, when the workers "
                                    "holding it die; then WorkerLost. 1: never re-dispatched "
                                    "(default %1)."),
                     &BrokerConfig::maxAttempts, 1, 100),
        sizeOption(QStringLiteral("socket-hwm"), count,
                   QStringLiteral("High-water mark of every socket, in messages per peer "
                                  "(ZMQ_SNDHWM, ZMQ_RCVHWM). Takes K, M (default %1)."),
                   &BrokerConfig::socketHwm, 1, kMaxInt),
        // At least 1 KiB: below that, a valid READY or an error reply could not pass.
        sizeOption(QStringLiteral("max-message-bytes"), bytes,
                   QStringLiteral("Largest message a client or worker may send "
                                  "(ZMQ_MAXMSGSIZE); a peer that sends a larger one is "
                                  "disconnected. Takes K, M, G (default %1)."),
                   &BrokerConfig::maxMessageBytes, 1024, kTiB),
        numberOption(QStringLiteral("request-timeout-ms"), QStringLiteral("ms"),
                     QStringLiteral("How long a request may wait for a worker before it is "
                                    "answered with an Expired or ServiceUnavailable error, in ms "
                                    "(default %1)."),
                     &BrokerConfig::requestTimeout, 1, kDayMs),
    };
}

std::vector<BrokerOption> securityOptions()
{
    return {
        {QCommandLineOption(QStringLiteral("curve-key"),
                            QStringLiteral("Turn CURVE on for every endpoint with the broker's "
                                           "key pair, a file from switchboard keygen (needs "
                                           "--authorized-keys; docs/SECURITY.md)."),
                            QStringLiteral("file")),
         [](const QCommandLineParser& parser, const QCommandLineOption& option, Options& options) {
             options.broker.curveKeyFile = parser.value(option);
             return QString();
         },
         [](const Options& options) { return QStringList{options.broker.curveKeyFile}; }},
        {QCommandLineOption(QStringLiteral("authorized-keys"),
                            QStringLiteral("Directory of the public keys (.pub files) allowed to "
                                           "connect: directly in it for every endpoint, in its "
                                           "clients/, workers/ or admin/ subdirectory for that "
                                           "one. Re-read when it changes and on SIGHUP."),
                            QStringLiteral("dir")),
         [](const QCommandLineParser& parser, const QCommandLineOption& option, Options& options) {
             options.broker.authorizedKeysDirectory = parser.value(option);
             return goTogether(parser, QStringLiteral("curve-key"), option.names().first(),
                               QStringLiteral("--curve-key and --authorized-keys go together: "
                                              "the broker's key pair, and the keys it lets in"));
         },
         [](const Options& options) {
             return QStringList{options.broker.authorizedKeysDirectory};
         }},
    };
}

// What an orchestrator and Prometheus read: the broker's HTTP listener.
std::vector<BrokerOption> operationsOptions()
{
    return {
        {QCommandLineOption(QStringLiteral("metrics"),
                            QStringLiteral("Serve HTTP on ADDR:PORT (IPv6 as [::1]:PORT, port 0 "
                                           "picks one): /metrics for Prometheus, /livez and "
                                           "/readyz for liveness and readiness probes "
                                           "(docs/ARCHITECTURE.md). Loopback only unless "
                                           "--metrics-beyond-loopback."),
                            QStringLiteral("addr:port")),
         [](const QCommandLineParser& parser, const QCommandLineOption& option, Options& options) {
             options.broker.metricsAddress = parser.value(option);
             return QString();
         }},
        {QCommandLineOption(QStringLiteral("metrics-beyond-loopback"),
                            QStringLiteral("Let --metrics listen on an address other machines "
                                           "reach; it has no authentication.")),
         [](const QCommandLineParser& parser, const QCommandLineOption& option, Options& options) {
             options.broker.metricsBeyondLoopback = parser.isSet(option);
             if (options.broker.metricsBeyondLoopback && !parser.isSet(QStringLiteral("metrics"))) {
                 return QStringLiteral("--metrics-beyond-loopback needs --metrics ADDR:PORT");
             }
             return QString();
         }},
    };
}

BrokerOption logLevelOption()
{
    return {
        QCommandLineOption(QStringLiteral("log-level"),
                           QStringLiteral("Least severe messages logged: debug, info, warning "
                                          "or error (default info)."),
                           QStringLiteral("level"), QStringLiteral("info")),
        [](const QCommandLineParser& parser, const QCommandLineOption& option, Options& options) {
            static const QStringList levels{QStringLiteral("debug"), QStringLiteral("info"),
                                            QStringLiteral("warning"), QStringLiteral("error")};
            options.logLevel = parser.value(option);
            if (!levels.contains(options.logLevel)) {
                return QStringLiteral("--log-level takes debug, info, warning or error, not "
                                      "'%1'")
                    .arg(options.logLevel);
            }
            return QString();
        },
        [](const Options& options) { return QStringList{options.logLevel}; }};
}

// Every option after --help and --version, in the order --help lists them.
std::vector<BrokerOption> brokerOptions()
{
    std::vector<BrokerOption> all;
    for (auto group :
         {runOptions(), endpointOptions(), timingOptions(), limitOptions(), securityOptions(),
          operationsOptions(), std::vector<BrokerOption>{logLevelOption()}}) {
        std::move(group.begin(), group.end(), std::back_inserter(all));
    }
    return all;
}

QString helpText(const QCommandLineParser& parser)
{
    return parser.helpText() +
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
               "--frontend ipc:///run/switchboard/clients.sock\n"
               "      Also serve other machines, and local clients over a Unix "
               "socket.\n"
               "\nCommands (each has --help):\n"
               "  switchboard monitor [--attach EP]...\n"
               "      The monitor window alone, on running brokers (default "
               "tcp://127.0.0.1:5557; repeat --attach for several in one window).\n"
               "  switchboard call [--broker EP ...] [--timeout MS] SERVICE METHOD "
               "[ARG ...]\n"
               "      Call a method through a running broker; prints the result as "
               "JSON.\n"
               "  switchboard services [--broker EP ...]\n"
               "      List services and their live workers, on each broker given.\n"
               "  switchboard describe SERVICE\n"
               "      List a service's methods with their argument types.\n"
               "  switchboard keygen NAME\n"
               "      Write a CURVE key pair, NAME.key and NAME.pub.\n"
               "\nConfiguration: every option above but --help, --version, --config and "
               "--print-config may\nalso be set in a config file (--config FILE, or "
               "SWITCHBOARD_CONFIG=FILE), one `option = value`\nline each (`max-queue = 5000`, "
               "`no-gui = true`), or in a variable SWITCHBOARD_<OPTION>\n(SWITCHBOARD_MAX_QUEUE="
               "5000; a repeatable option's values separated by spaces or commas).\nThe command "
               "line overrides the variables, which override the file. --print-config shows\n"
               "the result. /etc/switchboard/switchboard.conf, as the Debian package installs it, "
               "lists\n"
               "every option with its default.\n"
               "\nSignals: SIGINT and SIGTERM shut down; SIGHUP re-reads --authorized-keys.\n"
               "\nExit codes: 0 after a clean shutdown (SIGINT, SIGTERM, closing the window), "
               "2 for a usage\nerror, an endpoint that cannot be bound, an unusable key, or no "
               "display for the window.\n");
}

} // namespace

CommandLine<Options> parseCommandLine(const QStringList& arguments)
{
    QStringList warnings;
    CommandLine<Options> result =
        parseCommandLine(arguments, QProcessEnvironment::systemEnvironment(), warnings);
    if (!warnings.isEmpty()) {
        QTextStream err(stderr);
        for (const QString& warning : std::as_const(warnings)) {
            err << "switchboard: warning: " << warning << Qt::endl;
        }
    }
    return result;
}

CommandLine<Options> parseCommandLine(const QStringList& arguments,
                                      const QProcessEnvironment& environment, QStringList& warnings)
{
    CommandParser parser(
        QStringLiteral("switchboard"), QStringLiteral("switchboard"),
        QStringLiteral("Switchboard: a Majordomo (7/MDP, 18/MDP) RPC broker on ZeroMQ.\n"
                       "Clients connect to the frontend, workers to the backend, monitors and "
                       "operator tools to the admin endpoint; each option that takes an endpoint "
                       "may be repeated (tcp://, ipc://, inproc://). By default the broker runs "
                       "with its monitor window; --no-gui runs it headless."));
    const QCommandLineOption version({QStringLiteral("v"), QStringLiteral("version")},
                                     QStringLiteral("Show the version and exit."));
    const QCommandLineOption config(
        QStringLiteral("config"),
        QStringLiteral("Read options from a config file of `option = value` lines (see "
                       "Configuration below; default $SWITCHBOARD_CONFIG, else none)."),
        QStringLiteral("file"));
    const QCommandLineOption printConfig(
        QStringLiteral("print-config"),
        QStringLiteral("Print the effective configuration as a config file, each value with "
                       "where it came from, and exit."));
    parser.addOption(version);
    parser.addOption(config);
    parser.addOption(printConfig);
    const std::vector<BrokerOption> options = brokerOptions();
    for (const BrokerOption& entry : options) {
        parser.addOption(entry.option);
    }

    if (auto exit = parser.parseOrExit(arguments, [&parser] { return helpText(parser); })) {
        return *exit;
    }
    if (parser.isSet(version)) {
        return CommandLineExit{
            0, QStringLiteral("switchboard %1\n").arg(QCoreApplication::applicationVersion()), {}};
    }
    if (!parser.positionalArguments().isEmpty()) {
        return parser.usageError(
            QStringLiteral(
                "unknown command '%1' (commands: monitor, call, services, describe, keygen)")
                .arg(parser.positionalArguments().first()));
    }

    std::vector<ConfigOption> names;
    for (const BrokerOption& entry : options) {
        names.push_back({entry.option.names().constLast(), !entry.option.valueName().isEmpty(),
                         entry.repeatable});
    }
    ConfigSources sources(std::move(names));
    const QString configVariable = ConfigSources::variableName(config.names().first());
    const QString path =
        parser.isSet(config) ? parser.value(config) : environment.value(configVariable);
    if (parser.isSet(config) && path.isEmpty()) {
        return parser.usageError(QStringLiteral("--config needs a file"));
    }
    if (!path.isEmpty()) {
        const auto file = ConfigFile::read(path);
        if (const auto* error = std::get_if<QString>(&file)) {
            return parser.failure(parser.isSet(config)
                                      ? *error
                                      : QStringLiteral("%1 (from %2)").arg(*error, configVariable));
        }
        if (const QString error = sources.addFile(std::get<ConfigFile>(file)); !error.isEmpty()) {
            return parser.failure(error);
        }
    }
    if (const QString error = sources.addEnvironment(environment, warnings); !error.isEmpty()) {
        return parser.failure(error);
    }
    sources.addCommandLine(parser);

    // Every value, wherever it came from, goes through the options' own parser and checks.
    CommandParser merged(QStringLiteral("switchboard"), QStringLiteral("switchboard"), {});
    for (const BrokerOption& entry : options) {
        merged.addOption(entry.option);
    }
    if (!merged.parse(sources.arguments(QStringLiteral("switchboard")))) {
        return parser.failure(merged.errorText());
    }
    Options result;
    for (std::size_t index = 0; index < options.size(); ++index) {
        const BrokerOption& entry = options[index];
        if (const QString error = entry.apply(merged, entry.option, result); !error.isEmpty()) {
            if (sources.source(index) == ConfigSources::Source::CommandLine) {
                return parser.usageError(error);
            }
            return parser.failure(QStringLiteral("%1: %2").arg(sources.where(index), error));
        }
    }

    if (parser.isSet(printConfig)) {
        std::vector<QStringList> effective;
        for (std::size_t index = 0; index < options.size(); ++index) {
            const BrokerOption& entry = options[index];
            if (entry.current) {
                effective.push_back(entry.current(result));
            } else if (sources.source(index) != ConfigSources::Source::Default) {
                effective.push_back(sources.values(index));
            } else if (entry.option.valueName().isEmpty()) {
                effective.push_back({QStringLiteral("false")});
            } else {
                effective.push_back(entry.option.defaultValues());
            }
        }
        return CommandLineExit{0, sources.configText(effective), {}};
    }
    return result;
}

} // namespace switchboard
