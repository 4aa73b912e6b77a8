#include "clientcommand.h"

#include "clientkeyoptions.h"
#include "jsonmsgpack.h"

#include <switchboard/client.h>
#include <switchboard/protocol/envelope.h>

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>

#include <chrono>
#include <map>
#include <optional>

namespace switchboard {

namespace {

constexpr int kSuccess = 0;
constexpr int kRemoteError = 1;
constexpr int kNoAnswer = 3;

const QString kDefaultBroker = QStringLiteral("tcp://127.0.0.1:5555");
constexpr int kDefaultTimeoutMs = 5000;

struct Subcommand {
    ClientCommandOptions::Command command;
    QString name;
    QString usage;       // after "switchboard NAME "
    QString description; // what it does, shown by --help
    QString examples;
};

const std::map<QString, Subcommand>& subcommands()
{
    static const std::map<QString, Subcommand> all{
        {QStringLiteral("call"),
         {ClientCommandOptions::Command::Call, QStringLiteral("call"),
          QStringLiteral("[options] SERVICE METHOD [ARG ...]"),
          QStringLiteral("Calls METHOD of SERVICE through the broker and prints the result as "
                         "JSON. Each ARG is a JSON value (2, 1.5, true, null, \"text\", [1,2], "
                         "{\"k\":1}); an ARG that is not JSON is sent as a string, so hello means "
                         "\"hello\". A streaming method prints its items as one array. Options "
                         "go before SERVICE, so negative numbers need no escaping."),
          QStringLiteral("  switchboard call calc add_one 1\n"
                         "  switchboard call --timeout 500 calc divide 1 0\n"
                         "  switchboard call --broker tcp://10.0.0.5:5555 store put key "
                         "'{\"size\": 3}'\n")}},
        {QStringLiteral("services"),
         {ClientCommandOptions::Command::Services, QStringLiteral("services"),
          QStringLiteral("[options]"),
          QStringLiteral("Lists the services the broker knows: their live workers, the "
                         "requests those hold now and can hold at once (their credit), and the "
                         "requests waiting (mmi.capacity; 8/MMI mmi.workers from older brokers)."),
          QStringLiteral("  switchboard services\n  switchboard services --json\n")}},
        {QStringLiteral("describe"),
         {ClientCommandOptions::Command::Describe, QStringLiteral("describe"),
          QStringLiteral("[options] SERVICE"),
          QStringLiteral("Prints the methods a service's worker offers, with their argument and "
                         "result types (the reserved method switchboard.describe, which every "
                         "worker built with Switchboard::worker answers)."),
          QStringLiteral("  switchboard describe calc\n")}},
    };
    return all;
}

CallOptions idempotent()
{
    CallOptions options;
    options.idempotent = true;
    return options;
}

QString what(const std::exception& error)
{
    return QString::fromUtf8(error.what());
}

// QCommandLineParser prints the description as one line; wrap it like the option texts.
QString wrapped(const QString& text, qsizetype width = 79)
{
    QString result;
    qsizetype lineLength = 0;
    for (const QString& word : text.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        if (lineLength > 0 && lineLength + 1 + word.size() > width) {
            result += QLatin1Char('\n');
            lineLength = 0;
        } else if (lineLength > 0) {
            result += QLatin1Char(' ');
            ++lineLength;
        }
        result += word;
        lineLength += word.size();
    }
    return result;
}

int fail(QTextStream& err, int code, const QString& message)
{
    err << "switchboard: " << message << Qt::endl;
    return code;
}

// Runs `body` with a client, turning every way a call can fail into a message and exit code.
template <typename Body>
int withClient(const ClientCommandOptions& target, QTextStream& err, Body body)
{
    const QString& endpoint = target.endpoint;
    std::optional<Client> client;
    try {
        ClientOptions options;
        options.timeout = std::chrono::milliseconds(target.timeoutMs);
        options.curve = target.curve;
        client.emplace(endpoint.toStdString(), options);
    } catch (const curve::KeyError& error) {
        return fail(err, kUsageError, what(error));
    } catch (const zmq::error_t& error) {
        return fail(err, kUsageError,
                    QStringLiteral("--broker '%1' is not a ZeroMQ endpoint: %2 (see switchboard "
                                   "--help)")
                        .arg(endpoint, what(error)));
    }
    try {
        return body(*client);
    } catch (const RemoteError& error) {
        fail(err, kRemoteError, what(error));
        if (!error.detail().empty()) {
            for (const auto& line :
                 QString::fromStdString(error.detail()).split(QLatin1Char('\n'))) {
                err << "  " << line << '\n';
            }
            err.flush();
        }
        return kRemoteError;
    } catch (const TimeoutError& error) {
        return fail(err, kNoAnswer,
                    QStringLiteral("%1 (is the broker at %2 running, and a worker free?)")
                        .arg(what(error), endpoint));
    } catch (const AuthenticationError& error) {
        return fail(err, kNoAnswer,
                    QStringLiteral("%1 (is this client's .pub in the broker's --authorized-keys, "
                                   "and --server-key the broker's key?)")
                        .arg(what(error)));
    } catch (const ServiceUnavailable& error) {
        return fail(
            err, kNoAnswer,
            QStringLiteral("%1 (switchboard services lists what is served)").arg(what(error)));
    } catch (const Error& error) {
        return fail(err, kNoAnswer, what(error));
    }
}

int runCall(const ClientCommandOptions& options, QTextStream& out, QTextStream& err)
{
    const QStringList& positional = options.arguments;
    const std::string service = positional[0].toStdString();
    const std::string method = positional[1].toStdString();
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_array(static_cast<std::uint32_t>(positional.size() - 2));
    for (qsizetype i = 2; i < positional.size(); ++i) {
        jsonmsgpack::packJson(packer, jsonmsgpack::parseArgument(positional[i]));
    }
    return withClient(options, err, [&](Client& client) {
        auto result = client.callPacked(
            {service, method, zmq::message_t(buffer.data(), buffer.size()), CallOptions{}});
        out << jsonmsgpack::format(jsonmsgpack::toJson(result.get()), options.compact) << Qt::endl;
        return kSuccess;
    });
}

// One service's line of mmi.capacity (docs/PROTOCOL.md §10).
struct ServiceCapacity {
    std::size_t workers = 0;
    std::size_t capacity = 0;
    std::size_t inFlight = 0;
    std::size_t queued = 0;
};

// mmi.capacity, or from a broker that predates it, mmi.workers with one request per worker.
std::map<std::string, ServiceCapacity> serviceCapacities(Client& client)
{
    std::map<std::string, ServiceCapacity> lines;
    try {
        using Line = std::map<std::string, std::size_t>;
        for (auto& [name, line] :
             client.call<std::map<std::string, Line>>(idempotent(), "mmi.capacity", "list")) {
            lines[name] = {line["workers"], line["capacity"], line["inFlight"], line["queued"]};
        }
        return lines;
    } catch (const RemoteError& error) {
        if (error.type() != rpc::errortype::kNotImplemented) {
            throw;
        }
    }
    for (const auto& [name, count] :
         client.call<std::map<std::string, std::size_t>>(idempotent(), "mmi.workers", "list")) {
        lines[name] = {count, count, 0, 0};
    }
    return lines;
}

int runServices(const ClientCommandOptions& options, QTextStream& out, QTextStream& err)
{
    return withClient(options, err, [&](Client& client) {
        const auto lines = serviceCapacities(client);
        if (options.json) {
            QJsonObject object;
            for (const auto& [name, line] : lines) {
                object.insert(QString::fromStdString(name),
                              QJsonObject{{"workers", static_cast<qint64>(line.workers)},
                                          {"capacity", static_cast<qint64>(line.capacity)},
                                          {"inFlight", static_cast<qint64>(line.inFlight)},
                                          {"queued", static_cast<qint64>(line.queued)}});
            }
            out << jsonmsgpack::format(object, false) << Qt::endl;
            return kSuccess;
        }
        if (lines.empty()) {
            out << "no services (no worker is connected to the broker)" << Qt::endl;
            return kSuccess;
        }
        int width = 7; // "SERVICE"
        for (const auto& entry : lines) {
            width = std::max(width, static_cast<int>(entry.first.size()));
        }
        const auto column = [](auto value, int columnWidth) {
            return QString::number(value).rightJustified(columnWidth);
        };
        out << QStringLiteral("SERVICE").leftJustified(width + 2)
            << "WORKERS  IN FLIGHT  CAPACITY  QUEUED\n";
        for (const auto& [name, line] : lines) {
            out << QString::fromStdString(name).leftJustified(width + 2) << column(line.workers, 7)
                << column(line.inFlight, 11) << column(line.capacity, 10) << column(line.queued, 8)
                << '\n';
        }
        out.flush();
        return kSuccess;
    });
}

QString describeMethod(const QJsonObject& method)
{
    QStringList args;
    for (const auto& type : method.value(QStringLiteral("args")).toArray()) {
        args << type.toString();
    }
    const QString returns = method.value(QStringLiteral("returns")).toString();
    return QStringLiteral("%1(%2) -> %3")
        .arg(method.value(QStringLiteral("name")).toString(), args.join(QStringLiteral(", ")),
             method.value(QStringLiteral("streaming")).toBool()
                 ? QStringLiteral("stream of %1").arg(returns)
                 : returns);
}

int runDescribe(const ClientCommandOptions& options, QTextStream& out, QTextStream& err)
{
    return withClient(options, err, [&](Client& client) {
        const auto reply =
            client.call(idempotent(), options.arguments[0].toStdString(), rpc::kDescribeMethod);
        const QJsonValue description = jsonmsgpack::toJson(reply.get());
        if (options.json) {
            out << jsonmsgpack::format(description, false) << Qt::endl;
            return kSuccess;
        }
        const QJsonObject object = description.toObject();
        out << object.value(QStringLiteral("service")).toString() << " (worker "
            << object.value(QStringLiteral("worker")).toString() << ", switchboard "
            << object.value(QStringLiteral("version")).toString() << ")\n";
        for (const auto& method : object.value(QStringLiteral("methods")).toArray()) {
            out << "  " << describeMethod(method.toObject()) << '\n';
        }
        out.flush();
        return kSuccess;
    });
}

// Why the positional arguments do not fit the subcommand, empty when they do.
QString argumentsError(const ClientCommandOptions& options)
{
    const QStringList& arguments = options.arguments;
    switch (options.command) {
    case ClientCommandOptions::Command::Call:
        if (arguments.size() < 2) {
            return arguments.isEmpty() ? QStringLiteral("missing SERVICE and METHOD")
                                       : QStringLiteral("missing METHOD");
        }
        return {};
    case ClientCommandOptions::Command::Services:
        if (!arguments.isEmpty()) {
            return QStringLiteral("unexpected argument '%1'").arg(arguments.first());
        }
        return {};
    case ClientCommandOptions::Command::Describe:
        if (arguments.size() != 1) {
            return arguments.isEmpty()
                       ? QStringLiteral("missing SERVICE")
                       : QStringLiteral("unexpected argument '%1'").arg(arguments[1]);
        }
        return {};
    }
    return {};
}

} // namespace

bool isClientCommand(const QStringList& arguments)
{
    return arguments.size() > 1 && subcommands().contains(arguments[1]);
}

CommandLine<ClientCommandOptions> parseClientCommandLine(const QStringList& arguments)
{
    const Subcommand& command = subcommands().at(arguments[1]);
    CommandParser parser(QStringLiteral("switchboard"),
                         QStringLiteral("switchboard ") + command.name,
                         wrapped(command.description));
    if (command.command == ClientCommandOptions::Command::Call) {
        // Everything after SERVICE is the call's, including "-5" and "--x".
        parser.setOptionsAfterPositionalArgumentsMode(
            QCommandLineParser::ParseAsPositionalArguments);
    }
    const QCommandLineOption broker(
        QStringLiteral("broker"),
        QStringLiteral("The broker's client endpoint (default %1).").arg(kDefaultBroker),
        QStringLiteral("endpoint"), kDefaultBroker);
    const QCommandLineOption timeout(
        QStringLiteral("timeout"),
        QStringLiteral("How long to wait for the answer, in ms (default %1).")
            .arg(kDefaultTimeoutMs),
        QStringLiteral("ms"), QString::number(kDefaultTimeoutMs));
    const ClientKeyOptions keys(QStringLiteral("client"));
    const QCommandLineOption compact(QStringLiteral("compact"),
                                     QStringLiteral("Print the result on one line."));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print the answer as JSON, for scripts."));
    parser.addOptions({broker, timeout});
    parser.addOptions(keys.options());
    parser.addOption(command.command == ClientCommandOptions::Command::Call ? compact : json);

    QStringList forParser = arguments.mid(1);
    forParser[0] = QStringLiteral("switchboard ") + command.name;
    const auto help = [&parser, &command] {
        QString text = parser.helpText();
        text = text.mid(text.indexOf(QLatin1Char('\n')) + 1); // our own usage line instead
        return QStringLiteral("Usage: switchboard %1 %2\n").arg(command.name, command.usage) +
               text + QStringLiteral("\nExamples:\n") + command.examples +
               QStringLiteral("\nExit codes: 0 success, 1 the service answered with an error, 2 "
                              "usage error, 3 no answer (timeout, no worker, broker "
                              "unreachable).\n");
    };
    if (auto exit = parser.parseOrExit(forParser, help)) {
        return *exit;
    }
    ClientCommandOptions options;
    options.command = command.command;
    options.endpoint = parser.value(broker);
    bool ok = false;
    options.timeoutMs = parser.value(timeout).toInt(&ok);
    if (!ok || options.timeoutMs < 1) {
        return parser.usageError(
            QStringLiteral("--timeout takes a whole number of ms from 1, not '%1'")
                .arg(parser.value(timeout)));
    }
    if (const QString error = keys.pairError(parser); !error.isEmpty()) {
        return parser.usageError(error);
    }
    auto credentials = keys.read(parser);
    if (const auto* error = std::get_if<QString>(&credentials)) {
        return parser.failure(*error); // the file is wrong, not the command line
    }
    options.curve = std::get<curve::ClientCredentials>(std::move(credentials));
    const bool isCall = command.command == ClientCommandOptions::Command::Call;
    options.compact = isCall && parser.isSet(compact); // each option exists for its commands only
    options.json = !isCall && parser.isSet(json);
    options.arguments = parser.positionalArguments();
    if (const QString error = argumentsError(options); !error.isEmpty()) {
        return parser.usageError(error);
    }
    return options;
}

int runClientCommand(const ClientCommandOptions& options, QTextStream& out, QTextStream& err)
{
    switch (options.command) {
    case ClientCommandOptions::Command::Call:
        return runCall(options, out, err);
    case ClientCommandOptions::Command::Services:
        return runServices(options, out, err);
    case ClientCommandOptions::Command::Describe:
        return runDescribe(options, out, err);
    }
    return kUsageError;
}

} // namespace switchboard
