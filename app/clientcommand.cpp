#include "clientcommand.h"

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
constexpr int kUsageError = 2;
constexpr int kNoAnswer = 3;

const QString kDefaultBroker = QStringLiteral("tcp://127.0.0.1:5555");
constexpr int kDefaultTimeoutMs = 5000;

struct Subcommand {
    QString name;
    QString usage;       // after "switchboard NAME "
    QString description; // what it does, shown by --help
    QString examples;
};

const std::map<QString, Subcommand>& subcommands()
{
    static const std::map<QString, Subcommand> all{
        {QStringLiteral("call"),
         {QStringLiteral("call"), QStringLiteral("[options] SERVICE METHOD [ARG ...]"),
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
         {QStringLiteral("services"), QStringLiteral("[options]"),
          QStringLiteral("Lists the services the broker knows, with their live workers "
                         "(8/MMI mmi.workers)."),
          QStringLiteral("  switchboard services\n  switchboard services --json\n")}},
        {QStringLiteral("describe"),
         {QStringLiteral("describe"), QStringLiteral("[options] SERVICE"),
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

int usageError(QTextStream& err, const QString& name, const QString& message)
{
    return fail(err, kUsageError,
                QStringLiteral("%1 (see switchboard %2 --help)").arg(message, name));
}

// Which broker to ask, and how.
struct Target {
    QString endpoint;
    int timeoutMs = kDefaultTimeoutMs;
    curve::ClientCredentials curve;
};

// Runs `body` with a client, turning every way a call can fail into a message and exit code.
template <typename Body>
int withClient(const Target& target, QTextStream& err, Body body)
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

int runCall(const QCommandLineParser& parser, const Target& target, bool compact, QTextStream& out,
            QTextStream& err)
{
    const QStringList positional = parser.positionalArguments();
    if (positional.size() < 2) {
        return usageError(err, QStringLiteral("call"),
                          positional.isEmpty() ? QStringLiteral("missing SERVICE and METHOD")
                                               : QStringLiteral("missing METHOD"));
    }
    const std::string service = positional[0].toStdString();
    const std::string method = positional[1].toStdString();
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_array(static_cast<std::uint32_t>(positional.size() - 2));
    for (qsizetype i = 2; i < positional.size(); ++i) {
        jsonmsgpack::packJson(packer, jsonmsgpack::parseArgument(positional[i]));
    }
    return withClient(target, err, [&](Client& client) {
        CallOptions options;
        auto result = client.callPacked(
            {service, method, zmq::message_t(buffer.data(), buffer.size()), options});
        out << jsonmsgpack::format(jsonmsgpack::toJson(result.get()), compact) << Qt::endl;
        return kSuccess;
    });
}

int runServices(const Target& target, bool json, QTextStream& out, QTextStream& err)
{
    return withClient(target, err, [&](Client& client) {
        const auto workers =
            client.call<std::map<std::string, std::size_t>>(idempotent(), "mmi.workers", "list");
        if (json) {
            QJsonObject object;
            for (const auto& [name, count] : workers) {
                object.insert(QString::fromStdString(name), static_cast<qint64>(count));
            }
            out << jsonmsgpack::format(object, false) << Qt::endl;
            return kSuccess;
        }
        if (workers.empty()) {
            out << "no services (no worker is connected to the broker)" << Qt::endl;
            return kSuccess;
        }
        int width = 7; // "SERVICE"
        for (const auto& entry : workers) {
            width = std::max(width, static_cast<int>(entry.first.size()));
        }
        out << QStringLiteral("SERVICE").leftJustified(width + 2) << "WORKERS\n";
        for (const auto& [name, count] : workers) {
            out << QString::fromStdString(name).leftJustified(width + 2) << count << '\n';
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

int runDescribe(const QCommandLineParser& parser, const Target& target, bool json, QTextStream& out,
                QTextStream& err)
{
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        return usageError(err, QStringLiteral("describe"),
                          positional.isEmpty()
                              ? QStringLiteral("missing SERVICE")
                              : QStringLiteral("unexpected argument '%1'").arg(positional[1]));
    }
    return withClient(target, err, [&](Client& client) {
        const auto reply =
            client.call(idempotent(), positional[0].toStdString(), rpc::kDescribeMethod);
        const QJsonValue description = jsonmsgpack::toJson(reply.get());
        if (json) {
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

} // namespace

bool isClientCommand(const QStringList& arguments)
{
    return arguments.size() > 1 && subcommands().contains(arguments[1]);
}

int runClientCommand(const QStringList& arguments, QTextStream& out, QTextStream& err)
{
    const Subcommand& command = subcommands().at(arguments[1]);
    QCommandLineParser parser;
    parser.setApplicationDescription(wrapped(command.description));
    if (command.name == QLatin1String("call")) {
        // Everything after SERVICE is the call's, including "-5" and "--x".
        parser.setOptionsAfterPositionalArgumentsMode(
            QCommandLineParser::ParseAsPositionalArguments);
    }
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help and exit."));
    const QCommandLineOption broker(
        QStringLiteral("broker"),
        QStringLiteral("The broker's client endpoint (default %1).").arg(kDefaultBroker),
        QStringLiteral("endpoint"), kDefaultBroker);
    const QCommandLineOption timeout(
        QStringLiteral("timeout"),
        QStringLiteral("How long to wait for the answer, in ms (default %1).")
            .arg(kDefaultTimeoutMs),
        QStringLiteral("ms"), QString::number(kDefaultTimeoutMs));
    const QCommandLineOption compact(QStringLiteral("compact"),
                                     QStringLiteral("Print the result on one line."));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("Print the answer as JSON, for scripts."));
    const QCommandLineOption serverKey(
        QStringLiteral("server-key"),
        QStringLiteral("With CURVE: the broker's public key file (its .pub)."),
        QStringLiteral("file"));
    const QCommandLineOption ownKey(
        QStringLiteral("key"),
        QStringLiteral("With CURVE: this client's key pair (a .key from switchboard keygen)."),
        QStringLiteral("file"));
    parser.addOptions({help, broker, timeout, serverKey, ownKey});
    if (command.name == QLatin1String("call")) {
        parser.addOption(compact);
    } else {
        parser.addOption(json);
    }

    QStringList forParser = arguments.mid(1);
    forParser[0] = QStringLiteral("switchboard ") + command.name;
    if (!parser.parse(forParser)) {
        QString text = parser.errorText();
        if (text.endsWith(QLatin1Char('.'))) {
            text.chop(1);
        }
        return usageError(err, command.name, text);
    }
    if (parser.isSet(help)) {
        QString text = parser.helpText();
        text = text.mid(text.indexOf(QLatin1Char('\n')) + 1); // our own usage line instead
        out << "Usage: switchboard " << command.name << ' ' << command.usage << '\n'
            << text << "\nExamples:\n"
            << command.examples
            << "\nExit codes: 0 success, 1 the service answered with an error, 2 usage error, "
               "3 no answer (timeout, no worker, broker unreachable).\n";
        out.flush();
        return kSuccess;
    }
    bool ok = false;
    const int timeoutMs = parser.value(timeout).toInt(&ok);
    if (!ok || timeoutMs < 1) {
        return usageError(err, command.name,
                          QStringLiteral("--timeout takes a whole number of ms from 1, not '%1'")
                              .arg(parser.value(timeout)));
    }
    Target target{parser.value(broker), timeoutMs, {}};
    if (parser.isSet(serverKey) != parser.isSet(ownKey)) {
        return usageError(err, command.name,
                          QStringLiteral("--server-key and --key go together: CURVE needs the "
                                         "broker's public key and this client's key pair"));
    }
    if (parser.isSet(serverKey)) {
        try {
            target.curve = curve::ClientCredentials::fromFiles(
                parser.value(serverKey).toStdString(), parser.value(ownKey).toStdString());
        } catch (const curve::KeyError& error) {
            return fail(err, kUsageError, what(error));
        }
    }
    if (command.name == QLatin1String("call")) {
        return runCall(parser, target, parser.isSet(compact), out, err);
    }
    if (command.name == QLatin1String("services")) {
        if (!parser.positionalArguments().isEmpty()) {
            return usageError(err, command.name,
                              QStringLiteral("unexpected argument '%1'")
                                  .arg(parser.positionalArguments().first()));
        }
        return runServices(target, parser.isSet(json), out, err);
    }
    return runDescribe(parser, target, parser.isSet(json), out, err);
}

} // namespace switchboard
