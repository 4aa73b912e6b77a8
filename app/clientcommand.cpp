#include "clientcommand.h"

#include "clientkeyoptions.h"
#include "jsonmsgpack.h"

#include <switchboard/client.h>
#include <switchboard/protocol/brokerendpoints.h>
#include <switchboard/protocol/envelope.h>

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

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
          QStringLiteral("Calls METHOD of SERVICE through a broker and prints the result as "
                         "JSON. With several --broker, the call goes to one that is up; it is not "
                         "sent again if that broker dies meanwhile (the call may have run). Each "
                         "ARG is a JSON value (2, 1.5, true, null, \"text\", [1,2], "
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
          QStringLiteral("Lists the services the brokers know: their live workers, the "
                         "requests those hold now and can hold at once (their credit), and the "
                         "requests waiting (mmi.capacity; 8/MMI mmi.workers from older "
                         "brokers). With several brokers, each service's line is the total, "
                         "followed by one line per broker that answered (--json: under "
                         "\"brokers\"); a broker that does not answer is named on stderr, and "
                         "the exit code is then 3."),
          QStringLiteral("  switchboard services\n  switchboard services --json\n"
                         "  switchboard services --broker tcp://10.0.0.5:5555 --broker "
                         "tcp://10.0.0.6:5555\n")}},
        {QStringLiteral("describe"),
         {ClientCommandOptions::Command::Describe, QStringLiteral("describe"),
          QStringLiteral("[options] SERVICE"),
          QStringLiteral("Prints the methods a service's worker offers, with their argument and "
                         "result types (the reserved method switchboard.describe, which every "
                         "worker built with Switchboard::worker answers). With several --broker, "
                         "any one that is up is asked."),
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

QString commandName(const ClientCommandOptions& options)
{
    switch (options.command) {
    case ClientCommandOptions::Command::Call:
        return QStringLiteral("call");
    case ClientCommandOptions::Command::Services:
        return QStringLiteral("services");
    case ClientCommandOptions::Command::Describe:
        return QStringLiteral("describe");
    }
    return {};
}

QString joined(const std::vector<std::string>& endpoints)
{
    QStringList list;
    for (const auto& endpoint : endpoints) {
        list << QString::fromStdString(endpoint);
    }
    return list.join(QStringLiteral(", "));
}

// How a command that called a broker ends: its exit code and what to print.
struct Failure {
    int exitCode = kNoAnswer;
    QString message;    // one line
    QStringList detail; // a RemoteError's detail, printed indented below
};

// The exception of a failed call, worded for someone at a shell; `brokers` are where the call
// could have gone.
Failure failureOf(const std::exception_ptr& error, const std::vector<std::string>& brokers)
{
    try {
        std::rethrow_exception(error);
    } catch (const RemoteError& remote) {
        Failure failure{kRemoteError, what(remote), {}};
        if (!remote.detail().empty()) {
            failure.detail = QString::fromStdString(remote.detail()).split(QLatin1Char('\n'));
        }
        return failure;
    } catch (const TimeoutError& timeout) {
        return {kNoAnswer,
                (brokers.size() == 1
                     ? QStringLiteral("%1 (is the broker at %2 running, and a worker free?)")
                     : QStringLiteral("%1 (are the brokers at %2 running, and a worker free?)"))
                    .arg(what(timeout), joined(brokers)),
                {}};
    } catch (const AuthenticationError& refused) {
        return {kNoAnswer,
                QStringLiteral("%1 (is this client's .pub in the broker's --authorized-keys, "
                               "and --server-key the broker's key?)")
                    .arg(what(refused)),
                {}};
    } catch (const ServiceUnavailable& unavailable) {
        return {
            kNoAnswer,
            QStringLiteral("%1 (switchboard services lists what is served)").arg(what(unavailable)),
            {}};
    } catch (const Error& other) {
        return {kNoAnswer, what(other), {}};
    }
}

int report(QTextStream& err, const Failure& failure)
{
    fail(err, failure.exitCode, failure.message);
    for (const auto& line : failure.detail) {
        err << "  " << line << '\n';
    }
    err.flush();
    return failure.exitCode;
}

// The endpoint of `endpoints` that libzmq rejects, for the message: the Client only says that
// one of them is.
QString rejectedEndpoint(const std::vector<std::string>& endpoints)
{
    zmq::context_t context;
    for (const auto& endpoint : endpoints) {
        try {
            zmq::socket_t socket(context, zmq::socket_type::dealer);
            socket.set(zmq::sockopt::linger, 0);
            socket.connect(endpoint);
        } catch (const zmq::error_t&) {
            return QString::fromStdString(endpoint);
        }
    }
    return joined(endpoints);
}

// A client of `endpoints`, or the usage error that says why there can be none.
std::variant<std::unique_ptr<Client>, int> makeClient(const ClientCommandOptions& target,
                                                      const std::vector<std::string>& endpoints,
                                                      QTextStream& err)
{
    try {
        ClientOptions options;
        options.timeout = std::chrono::milliseconds(target.timeoutMs);
        options.curve = target.curve;
        return std::make_unique<Client>(endpoints, options);
    } catch (const curve::KeyError& error) {
        return fail(err, kUsageError, what(error));
    } catch (const zmq::error_t& error) {
        return fail(err, kUsageError,
                    QStringLiteral("--broker '%1' is not a ZeroMQ endpoint: %2 (see switchboard "
                                   "%3 --help)")
                        .arg(rejectedEndpoint(endpoints), what(error), commandName(target)));
    }
}

std::vector<std::string> configured(const ClientCommandOptions& target)
{
    std::vector<std::string> endpoints;
    for (const auto& endpoint : target.endpoints) {
        endpoints.push_back(endpoint.toStdString());
    }
    return endpoints;
}

// Runs `body` with a client of every --broker, turning every way a call can fail into a message
// and exit code.
template <typename Body>
int withClient(const ClientCommandOptions& target, QTextStream& err, Body body)
{
    const std::vector<std::string> endpoints = configured(target);
    auto made = makeClient(target, endpoints, err);
    if (const int* exitCode = std::get_if<int>(&made)) {
        return *exitCode;
    }
    try {
        return body(*std::get<std::unique_ptr<Client>>(made));
    } catch (const Error&) {
        return report(err, failureOf(std::current_exception(), endpoints));
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

using Capacities = std::map<std::string, ServiceCapacity>;

// What one broker said, or how asking it failed.
struct BrokerAnswer {
    std::string endpoint;
    std::optional<Capacities> services;
    std::exception_ptr error;
};

ServiceCapacity& operator+=(ServiceCapacity& total, const ServiceCapacity& line)
{
    total.workers += line.workers;
    total.capacity += line.capacity;
    total.inFlight += line.inFlight;
    total.queued += line.queued;
    return total;
}

QJsonObject toJson(const ServiceCapacity& line)
{
    return QJsonObject{{"workers", static_cast<qint64>(line.workers)},
                       {"capacity", static_cast<qint64>(line.capacity)},
                       {"inFlight", static_cast<qint64>(line.inFlight)},
                       {"queued", static_cast<qint64>(line.queued)}};
}

// "...:5555" for an endpoint longer than `width`: the end is what tells brokers apart.
QString elided(const std::string& endpoint, int width)
{
    const QString text = QString::fromStdString(endpoint);
    if (text.size() <= width) {
        return text;
    }
    return QStringLiteral("...") + text.right(width - 3);
}

// Every broker's services, asked at once so that a broker that does not answer costs one
// timeout, not one each.
std::vector<BrokerAnswer> askEveryBroker(const ClientCommandOptions& options,
                                         const std::vector<std::string>& brokers, QTextStream& err,
                                         int& exitCode)
{
    std::vector<std::unique_ptr<Client>> clients;
    for (const auto& broker : brokers) {
        auto made = makeClient(options, {broker}, err);
        if (const int* code = std::get_if<int>(&made)) {
            exitCode = *code;
            return {};
        }
        clients.push_back(std::move(std::get<std::unique_ptr<Client>>(made)));
    }
    std::vector<std::future<Capacities>> pending;
    for (auto& client : clients) {
        pending.push_back(std::async(std::launch::async,
                                     [&client = *client] { return serviceCapacities(client); }));
    }
    std::vector<BrokerAnswer> answers;
    for (std::size_t i = 0; i < brokers.size(); ++i) {
        BrokerAnswer answer{brokers[i], std::nullopt, nullptr};
        try {
            answer.services = pending[i].get();
        } catch (const Error&) {
            answer.error = std::current_exception();
        }
        answers.push_back(std::move(answer));
    }
    return answers;
}

void printServices(const std::map<std::string, ServiceCapacity>& totals,
                   const std::vector<BrokerAnswer>& answers, std::size_t answered, QTextStream& out)
{
    const bool perBroker = answers.size() > 1;
    // Service names as they come; broker endpoints (indented below their service) cut to what
    // keeps a line within 100 columns.
    constexpr int kNumbersWidth = 36; // WORKERS  IN FLIGHT  CAPACITY  QUEUED
    constexpr int kLineWidth = 100;
    int width = perBroker ? 16 : 7; // "SERVICE / BROKER", "SERVICE"
    for (const auto& entry : totals) {
        width = std::max(width, static_cast<int>(entry.first.size()));
    }
    int brokerWidth = 0;
    if (perBroker) {
        for (const auto& answer : answers) {
            brokerWidth = std::max(brokerWidth, static_cast<int>(answer.endpoint.size()));
        }
        brokerWidth = std::min(brokerWidth, kLineWidth - kNumbersWidth - 2 - 2);
        width = std::max(width, brokerWidth + 2);
    }
    const auto column = [](auto value, int columnWidth) {
        return QString::number(value).rightJustified(columnWidth);
    };
    const auto line = [&](const QString& name, const ServiceCapacity& capacity) {
        out << name.leftJustified(width + 2) << column(capacity.workers, 7)
            << column(capacity.inFlight, 11) << column(capacity.capacity, 10)
            << column(capacity.queued, 8) << '\n';
    };
    if (totals.empty()) {
        if (!perBroker) {
            out << "no services (no worker is connected to the broker)" << Qt::endl;
        } else if (answered == 1) {
            out << "no services (no worker is connected to the one broker that answered)"
                << Qt::endl;
        } else {
            out << QStringLiteral("no services (no worker is connected to any of the %1 brokers)")
                       .arg(answered)
                << Qt::endl;
        }
        return;
    }
    out << QString::fromLatin1(perBroker ? "SERVICE / BROKER" : "SERVICE").leftJustified(width + 2)
        << "WORKERS  IN FLIGHT  CAPACITY  QUEUED\n";
    for (const auto& [name, total] : totals) {
        line(QString::fromStdString(name), total);
        if (!perBroker) {
            continue;
        }
        for (const auto& answer : answers) {
            if (!answer.services) {
                continue;
            }
            const auto it = answer.services->find(name);
            line(QStringLiteral("  ") + elided(answer.endpoint, brokerWidth),
                 it != answer.services->end() ? it->second : ServiceCapacity{});
        }
    }
    out.flush();
}

int runServices(const ClientCommandOptions& options, QTextStream& out, QTextStream& err)
{
    // In the order given, each name replaced by the brokers it stands for.
    std::vector<std::string> brokers;
    std::vector<std::string> unresolved; // asked all the same, as a Client would
    try {
        for (const auto& endpoint : configured(options)) {
            auto resolved = BrokerEndpoints::resolve(endpoint);
            if (resolved.empty()) {
                resolved.push_back(endpoint);
                unresolved.push_back(endpoint);
            }
            for (auto& broker : resolved) {
                if (std::find(brokers.begin(), brokers.end(), broker) == brokers.end()) {
                    brokers.push_back(std::move(broker));
                }
            }
        }
    } catch (const std::invalid_argument& error) {
        return fail(err, kUsageError,
                    QStringLiteral("%1 (see switchboard services --help)").arg(what(error)));
    }
    int exitCode = kSuccess;
    const std::vector<BrokerAnswer> answers = askEveryBroker(options, brokers, err, exitCode);
    if (exitCode != kSuccess) {
        return exitCode;
    }
    std::map<std::string, ServiceCapacity> totals;
    std::size_t answered = 0;
    for (const auto& answer : answers) {
        if (!answer.services) {
            // One line each, and the brokers that did answer are still listed.
            Failure failure = failureOf(answer.error, {answer.endpoint});
            try {
                std::rethrow_exception(answer.error);
            } catch (const TimeoutError&) {
                const bool noAddress = std::find(unresolved.begin(), unresolved.end(),
                                                 answer.endpoint) != unresolved.end();
                failure.message = QStringLiteral("no answer from the broker at %1 within %2 ms "
                                                 "(%3)")
                                      .arg(QString::fromStdString(answer.endpoint))
                                      .arg(options.timeoutMs)
                                      .arg(noAddress ? QStringLiteral("its host name does not "
                                                                      "resolve")
                                                     : QStringLiteral("is it running?"));
            } catch (...) {
                if (answers.size() > 1) {
                    failure.message = QString::fromStdString(answer.endpoint) +
                                      QStringLiteral(": ") + failure.message;
                }
            }
            failure.detail.clear();
            exitCode = std::max(exitCode, report(err, failure));
            continue;
        }
        ++answered;
        for (const auto& [name, line] : *answer.services) {
            totals[name] += line;
        }
    }
    if (answered == 0) {
        return exitCode;
    }
    if (options.json) {
        QJsonObject object;
        for (const auto& [name, total] : totals) {
            QJsonObject service = toJson(total);
            QJsonObject perBroker;
            for (const auto& answer : answers) {
                if (!answer.services) {
                    continue;
                }
                const auto it = answer.services->find(name);
                perBroker.insert(
                    QString::fromStdString(answer.endpoint),
                    toJson(it != answer.services->end() ? it->second : ServiceCapacity{}));
            }
            service.insert(QStringLiteral("brokers"), perBroker);
            object.insert(QString::fromStdString(name), service);
        }
        out << jsonmsgpack::format(object, false) << Qt::endl;
        return exitCode;
    }
    printServices(totals, answers, answered, out);
    return exitCode;
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
        QStringLiteral("A broker's client endpoint (default %1). Repeat it for several "
                       "brokers; a host name that resolves to several addresses counts as one "
                       "broker per address.")
            .arg(kDefaultBroker),
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
    options.endpoints = parser.values(broker);
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
