// The `switchboard` executable as a newcomer meets it: its options, its errors, the endpoints it
// announces, and what a signal does to the requests it holds. The peers here are raw cppzmq
// sockets that build MDP frames by hand, so the test checks the wire rather than our libraries.

#include "httpclient.h"
#include "switchboardprocess.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <csignal>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>

using namespace std::chrono_literals;

namespace {

using Frames = std::vector<zmq::message_t>;

const QString kSwitchboard = QStringLiteral(SWITCHBOARD_EXECUTABLE);
const QString kWildcard = QStringLiteral("tcp://127.0.0.1:*");

struct Outcome {
    bool finished = false;
    int exitCode = -1;
    QProcess::ExitStatus exitStatus = QProcess::CrashExit;
    QString out;
    QStringList errLines;
};

// Runs switchboard to completion; one that does not finish in time is killed and reported so.
Outcome run(const QStringList& arguments, int timeoutMs = 10000,
            const QProcessEnvironment& environment = QProcessEnvironment::systemEnvironment())
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(kSwitchboard, arguments);
    Outcome outcome;
    outcome.finished = process.waitForStarted() && process.waitForFinished(timeoutMs);
    if (!outcome.finished) {
        process.kill();
        process.waitForFinished();
    }
    outcome.exitCode = process.exitCode();
    outcome.exitStatus = process.exitStatus();
    outcome.out = QString::fromUtf8(process.readAllStandardOutput());
    outcome.errLines =
        QString::fromUtf8(process.readAllStandardError()).split('\n', Qt::SkipEmptyParts);
    return outcome;
}

zmq::message_t frame(std::string_view text)
{
    return zmq::message_t(text.data(), text.size());
}

std::string text(const zmq::message_t& message)
{
    return message.to_string();
}

void send(zmq::socket_t& socket, std::vector<std::string_view> parts)
{
    Frames frames;
    for (const auto part : parts)
        frames.push_back(frame(part));
    QVERIFY(zmq::send_multipart(socket, frames).has_value());
}

// Waits for one whole message, without sleeping: the poll returns as soon as it arrives.
std::optional<Frames> receive(zmq::socket_t& socket, std::chrono::milliseconds timeout)
{
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0)
        return std::nullopt;
    Frames frames;
    if (!zmq::recv_multipart(socket, std::back_inserter(frames)))
        return std::nullopt;
    return frames;
}

std::string packedEmptyArray()
{
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, std::vector<int>{});
    return std::string(buffer.data(), buffer.size());
}

// The "type" of a msgpack error map {"type", "message", "detail"}.
QString errorType(const zmq::message_t& payload)
{
    const auto handle = msgpack::unpack(static_cast<const char*>(payload.data()), payload.size());
    const auto map = handle.get().as<std::map<std::string, msgpack::object>>();
    const auto type = map.find("type");
    return type == map.end() ? QString() : QString::fromStdString(type->second.as<std::string>());
}

QString describe(const Outcome& outcome)
{
    return QStringLiteral("finished=%1 exit=%2 stdout=[%3] stderr=[%4]")
        .arg(outcome.finished)
        .arg(outcome.exitCode)
        .arg(outcome.out, outcome.errLines.join(QLatin1String(" | ")));
}

} // namespace

class TstCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void help();
    void version();
    void badArguments_data();
    void badArguments();
    void endpointInUse_data();
    void endpointInUse();
    void wildcardEndpointsAreResolved();
    void metricsAddressIsAnnounced();
    void noDisplay_data();
    void noDisplay();
    void monitorHelp();
    void monitorBadArguments_data();
    void monitorBadArguments();
    void signalShutsDownGracefully_data();
    void signalShutsDownGracefully();
    void keygenWritesAKeyPair();
    void keygenRefusesToOverwrite();
    void keygenBadArguments_data();
    void keygenBadArguments();
    void curveBrokerLetsInAuthorizedKeysOnly();
    void servicesMergesSeveralBrokers();
    void servicesShowsTheBrokersThatAnswer();
};

void TstCli::help()
{
    const Outcome outcome = run({QStringLiteral("--help")});
    QVERIFY2(outcome.finished && outcome.exitCode == 0, qPrintable(describe(outcome)));
    for (const char* option : {"--no-gui",
                               "--demo",
                               "--frontend",
                               "--backend",
                               "--admin",
                               "--no-admin",
                               "--snapshot-ms",
                               "--heartbeat-ms",
                               "--liveness",
                               "--max-queue",
                               "--request-timeout-ms",
                               "--log-level",
                               "--help",
                               "--version",
                               "switchboard monitor",
                               "--curve-key",
                               "--authorized-keys",
                               "switchboard keygen",
                               "SIGHUP",
                               "--max-held-per-client",
                               "--max-held-bytes"}) {
        QVERIFY2(outcome.out.contains(QLatin1String(option)),
                 qPrintable(QStringLiteral("--help does not mention %1").arg(option)));
    }
}

void TstCli::version()
{
    const Outcome outcome = run({QStringLiteral("--version")});
    QVERIFY2(outcome.finished && outcome.exitCode == 0, qPrintable(describe(outcome)));
    QVERIFY2(outcome.out.contains(QLatin1String(SWITCHBOARD_VERSION)), qPrintable(outcome.out));
}

void TstCli::badArguments_data()
{
    QTest::addColumn<QStringList>("arguments");
    // What the one error line must name, so that the user knows what to fix.
    QTest::addColumn<QString>("mentions");

    const QStringList wildcards{"--frontend", kWildcard, "--backend",
                                kWildcard,    "--admin", kWildcard};
    QTest::newRow("unknown option")
        << (QStringList{"--no-gui", "--frobnicate"} + wildcards) << "frobnicate";
    QTest::newRow("liveness 0") << (QStringList{"--no-gui", "--liveness", "0"} + wildcards)
                                << "liveness";
    QTest::newRow("heartbeat not a number")
        << (QStringList{"--no-gui", "--heartbeat-ms", "abc"} + wildcards) << "heartbeat";
    QTest::newRow("unknown log level")
        << (QStringList{"--no-gui", "--log-level", "loud"} + wildcards) << "log-level";
    QTest::newRow("missing value")
        << (QStringList{"--no-gui"} + wildcards + QStringList{"--liveness"}) << "liveness";
    QTest::newRow("positional argument")
        << (QStringList{"--no-gui", "extra"} + wildcards) << "extra";
    QTest::newRow("malformed endpoint") << QStringList{"--no-gui",  "--frontend", "tcp://nonsense",
                                                       "--backend", kWildcard,    "--no-admin"}
                                        << "tcp://nonsense";
    QTest::newRow("malformed admin endpoint")
        << QStringList{"--no-gui", "--frontend", kWildcard,       "--backend",
                       kWildcard,  "--admin",    "tcp://nonsense"}
        << "tcp://nonsense";
    QTest::newRow("admin and no admin")
        << (QStringList{"--no-gui", "--no-admin"} + wildcards) << "--no-admin";
    QTest::newRow("snapshot interval too short")
        << (QStringList{"--no-gui", "--snapshot-ms", "5"} + wildcards) << "snapshot-ms";
    QTest::newRow("max attempts 0")
        << (QStringList{"--no-gui", "--max-attempts", "0"} + wildcards) << "max-attempts";
    QTest::newRow("queued bytes with an unknown suffix")
        << (QStringList{"--no-gui", "--max-queued-bytes", "12T"} + wildcards) << "max-queued-bytes";
    QTest::newRow("held reply bytes zero")
        << (QStringList{"--no-gui", "--max-held-per-client", "0"} + wildcards)
        << "max-held-per-client";
    QTest::newRow("held reply bytes not a size")
        << (QStringList{"--no-gui", "--max-held-bytes", "lots"} + wildcards) << "max-held-bytes";
    QTest::newRow("socket hwm negative")
        << (QStringList{"--no-gui", "--socket-hwm", "-1"} + wildcards) << "socket-hwm";
    QTest::newRow("message size below 1 KiB")
        << (QStringList{"--no-gui", "--max-message-bytes", "512"} + wildcards)
        << "max-message-bytes";
    QTest::newRow("message size only a suffix")
        << (QStringList{"--no-gui", "--max-message-bytes", "M"} + wildcards) << "max-message-bytes";
    QTest::newRow("unknown command") << QStringList{"monitr"} << "monitor";
    // Anyone who reaches the admin endpoint can evict workers: beyond loopback it needs CURVE.
    QTest::newRow("admin beyond loopback without CURVE")
        << QStringList{"--no-gui", "--frontend", kWildcard,        "--backend",
                       kWildcard,  "--admin",    "tcp://0.0.0.0:*"}
        << "only listen beyond loopback with CURVE";
    // The metrics listener has no authentication: beyond loopback only when asked for.
    QTest::newRow("metrics beyond loopback")
        << (QStringList{"--no-gui", "--metrics", "0.0.0.0:9999"} + wildcards)
        << "--metrics-beyond-loopback";
    QTest::newRow("metrics address garbage")
        << (QStringList{"--no-gui", "--metrics", "garbage"} + wildcards) << "expected ADDR:PORT";
    QTest::newRow("beyond loopback without metrics")
        << (QStringList{"--no-gui", "--metrics-beyond-loopback"} + wildcards) << "--metrics";
    QTest::newRow("curve key without authorized keys")
        << (QStringList{"--no-gui", "--curve-key", "broker.key"} + wildcards)
        << "--authorized-keys";
    QTest::newRow("missing curve key file")
        << (QStringList{"--no-gui", "--curve-key", "/nonexistent/broker.key", "--authorized-keys",
                        "/tmp"} +
            wildcards)
        << "/nonexistent/broker.key";
}

void TstCli::badArguments()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, mentions);

    const Outcome outcome = run(arguments);
    QVERIFY2(outcome.finished, qPrintable(describe(outcome)));
    QCOMPARE(outcome.exitStatus, QProcess::NormalExit);
    QCOMPARE(outcome.exitCode, 2);
    QCOMPARE(outcome.errLines.size(), 1);
    QVERIFY2(outcome.errLines.first().startsWith(QLatin1String("switchboard: ")),
             qPrintable(outcome.errLines.first()));
    QVERIFY2(outcome.errLines.first().contains(mentions), qPrintable(outcome.errLines.first()));
}

void TstCli::endpointInUse_data()
{
    QTest::addColumn<QString>("option");
    QTest::newRow("frontend") << "--frontend";
    QTest::newRow("backend") << "--backend";
    QTest::newRow("admin") << "--admin";
}

void TstCli::endpointInUse()
{
    QFETCH(QString, option);

    zmq::context_t context;
    zmq::socket_t squatter(context, zmq::socket_type::router);
    squatter.set(zmq::sockopt::linger, 0);
    squatter.bind("tcp://127.0.0.1:*");
    const QString taken =
        QString::fromStdString(squatter.get(zmq::sockopt::last_endpoint)); // tcp://127.0.0.1:N

    QStringList arguments{"--no-gui", "--frontend", kWildcard, "--backend",
                          kWildcard,  "--admin",    kWildcard};
    arguments << option << taken; // several endpoints per side are allowed; this one is taken
    const Outcome outcome = run(arguments);
    QVERIFY2(outcome.finished, qPrintable(describe(outcome)));
    QCOMPARE(outcome.exitCode, 2);
    QCOMPARE(outcome.errLines.size(), 1);
    QVERIFY2(outcome.errLines.first().startsWith(QLatin1String("switchboard: ")),
             qPrintable(outcome.errLines.first()));
    QVERIFY2(outcome.errLines.first().contains(taken), qPrintable(outcome.errLines.first()));
}

void TstCli::metricsAddressIsAnnounced()
{
    SwitchboardProcess switchboard(kSwitchboard);
    switchboard.start({"--no-gui", "--frontend", kWildcard, "--backend", kWildcard, "--no-admin",
                       "--metrics", "127.0.0.1:0"});
    QVERIFY2(switchboard.waitReady(), qPrintable(switchboard.stderrText()));
    const QRegularExpression announced(
        QStringLiteral("^metrics http://(127\\.0\\.0\\.1:[1-9][0-9]*)/metrics$"));
    QString address;
    for (const QString& line : switchboard.stdoutLines()) {
        if (const auto match = announced.match(line); match.hasMatch()) {
            address = match.captured(1);
        }
    }
    QVERIFY2(!address.isEmpty(), qPrintable(switchboard.stdoutLines().join('\n')));

    const auto ready = switchboard::test::httpGet(address, "/readyz");
    QVERIFY(ready);
    QCOMPARE(ready->status, 200);
    const auto metrics = switchboard::test::httpGet(address, "/metrics");
    QVERIFY(metrics);
    QCOMPARE(metrics->status, 200);
    QVERIFY2(metrics->body.contains("switchboard_build_info{"), metrics->body.constData());
    switchboard.stop();
}

void TstCli::wildcardEndpointsAreResolved()
{
    SwitchboardProcess switchboard(kSwitchboard);
    switchboard.start({"--no-gui", "--frontend", kWildcard, "--frontend", kWildcard, "--backend",
                       kWildcard, "--admin", kWildcard});
    QVERIFY2(switchboard.waitReady(), qPrintable(switchboard.stderrText()));
    QCOMPARE(switchboard.frontends().size(), 2);
    QCOMPARE(switchboard.backends().size(), 1);
    QCOMPARE(switchboard.admins().size(), 1);

    const QRegularExpression resolved(QStringLiteral("^tcp://127\\.0\\.0\\.1:([1-9][0-9]*)$"));
    const QStringList all = switchboard.frontends() + switchboard.backends() + switchboard.admins();
    for (const QString& endpoint : all)
        QVERIFY2(resolved.match(endpoint).hasMatch(), qPrintable(endpoint));
    QCOMPARE(QSet<QString>(all.begin(), all.end()).size(), all.size());

    // Each announced frontend really is the broker: it answers mmi.services (none yet).
    zmq::context_t context;
    for (const QString& endpoint : switchboard.frontends()) {
        zmq::socket_t client(context, zmq::socket_type::dealer);
        client.set(zmq::sockopt::linger, 0);
        client.connect(endpoint.toStdString());
        send(client, {"MDPC02", "\x01", "mmi.services", "id-1", "list", packedEmptyArray()});
        const auto reply = receive(client, 5s);
        QVERIFY2(reply, qPrintable(endpoint));
        QCOMPARE(reply->size(), 6u);
        QCOMPARE(text((*reply)[0]), std::string("MDPC02"));
        QCOMPARE(text((*reply)[1]), std::string("\x03"));
        QCOMPARE(text((*reply)[3]), std::string("id-1"));
        QCOMPARE(text((*reply)[4]), std::string(1, '\0'));
    }

    // And the announced admin endpoint answers a snapshot request (docs/PROTOCOL.md).
    zmq::socket_t admin(context, zmq::socket_type::dealer);
    admin.set(zmq::sockopt::linger, 0);
    admin.connect(switchboard.admins().first().toStdString());
    send(admin, {"SBADM1", "a-1", "snapshot", "\x80"});
    const auto snapshot = receive(admin, 5s);
    QVERIFY(snapshot);
    QCOMPARE(snapshot->size(), 4u);
    QCOMPARE(text((*snapshot)[1]), std::string("a-1"));
    QCOMPARE(text((*snapshot)[2]), std::string(1, '\0'));

    switchboard.process().terminate();
    QVERIFY(switchboard.process().waitForFinished(5000));
    QCOMPARE(switchboard.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(switchboard.process().exitCode(), 0);
}

void TstCli::noDisplay_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("pointsTo");
    QTest::newRow("broker with window")
        << QStringList{"--frontend", kWildcard, "--backend", kWildcard, "--admin", kWildcard}
        << "--no-gui";
    QTest::newRow("demo") << QStringList{"--demo",  "--frontend", kWildcard, "--backend",
                                         kWildcard, "--admin",    kWildcard}
                          << "--no-gui";
    QTest::newRow("monitor alone") << QStringList{"monitor"} << "desktop";
}

// A newcomer on a server runs `make run` (the window and the demo): instead of Qt's abort for a
// missing display they get one line that says what to run instead, and nothing is bound.
void TstCli::noDisplay()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, pointsTo);

    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove(QStringLiteral("DISPLAY"));
    environment.remove(QStringLiteral("WAYLAND_DISPLAY"));
    environment.remove(QStringLiteral("QT_QPA_PLATFORM"));
    const Outcome outcome = run(arguments, 10000, environment);
    QVERIFY2(outcome.finished, qPrintable(describe(outcome)));
    QCOMPARE(outcome.exitStatus, QProcess::NormalExit);
    QCOMPARE(outcome.exitCode, 2);
    QCOMPARE(outcome.errLines.size(), 1);
    QVERIFY2(outcome.errLines.first().startsWith(QLatin1String("switchboard: no display")),
             qPrintable(outcome.errLines.first()));
    QVERIFY2(outcome.errLines.first().contains(pointsTo), qPrintable(outcome.errLines.first()));
    QVERIFY2(!outcome.out.contains(QLatin1String("ready")), qPrintable(outcome.out));
}

void TstCli::monitorHelp()
{
    const Outcome outcome = run({QStringLiteral("monitor"), QStringLiteral("--help")});
    QVERIFY2(outcome.finished && outcome.exitCode == 0, qPrintable(describe(outcome)));
    for (const char* text : {"switchboard monitor [options]", "--attach", "--poll-ms",
                             "tcp://127.0.0.1:5557", "reconnects"}) {
        QVERIFY2(outcome.out.contains(QLatin1String(text)),
                 qPrintable(QStringLiteral("monitor --help does not mention %1").arg(text)));
    }
}

void TstCli::monitorBadArguments_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("not an endpoint")
        << QStringList{"monitor", "--attach", "localhost"} << "localhost";
    QTest::newRow("second not an endpoint")
        << QStringList{"monitor", "--attach", "tcp://127.0.0.1:5557", "--attach", "otherhost"}
        << "otherhost";
    QTest::newRow("same broker twice") << QStringList{"monitor", "--attach", "tcp://127.0.0.1:5557",
                                                      "--attach", "tcp://127.0.0.1:5557"}
                                       << "twice";
    QTest::newRow("poll too fast") << QStringList{"monitor", "--poll-ms", "1"} << "poll-ms";
    QTest::newRow("unknown option") << QStringList{"monitor", "--frobnicate"} << "frobnicate";
    QTest::newRow("extra argument")
        << QStringList{"monitor", "tcp://127.0.0.1:5557"} << "tcp://127.0.0.1:5557";
}

void TstCli::monitorBadArguments()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, mentions);

    const Outcome outcome = run(arguments);
    QVERIFY2(outcome.finished, qPrintable(describe(outcome)));
    QCOMPARE(outcome.exitCode, 2);
    QCOMPARE(outcome.errLines.size(), 1);
    QVERIFY2(outcome.errLines.first().startsWith(QLatin1String("switchboard monitor: ")),
             qPrintable(outcome.errLines.first()));
    QVERIFY2(outcome.errLines.first().contains(mentions), qPrintable(outcome.errLines.first()));
}

void TstCli::signalShutsDownGracefully_data()
{
    QTest::addColumn<int>("signalNumber");
    QTest::newRow("SIGTERM") << int(SIGTERM);
    QTest::newRow("SIGINT") << int(SIGINT);
}

void TstCli::signalShutsDownGracefully()
{
    QFETCH(int, signalNumber);

    // Long heartbeats, so that a worker that never heartbeats is not purged during the test.
    SwitchboardProcess switchboard(kSwitchboard);
    switchboard.start({"--no-gui", "--frontend", kWildcard, "--backend", kWildcard, "--no-admin",
                       "--heartbeat-ms", "10000"});
    QVERIFY2(switchboard.waitReady(), qPrintable(switchboard.stderrText()));
    const std::string frontend = switchboard.frontends().value(0).toStdString();
    const std::string backend = switchboard.backends().value(0).toStdString();

    zmq::context_t context;
    const auto socket = [&](zmq::socket_type type, const std::string& endpoint) {
        zmq::socket_t s(context, type);
        s.set(zmq::sockopt::linger, 0);
        s.connect(endpoint);
        return s;
    };
    zmq::socket_t worker = socket(zmq::socket_type::dealer, backend);
    zmq::socket_t streaming = socket(zmq::socket_type::dealer, frontend); // 18/MDP
    zmq::socket_t classic = socket(zmq::socket_type::dealer, frontend);   // 7/MDP
    const std::string args = packedEmptyArray();

    // The worker takes the first request and sits on it: that request is in flight.
    send(worker, {"MDPW02", "\x01", "slow"});
    send(streaming, {"MDPC02", "\x01", "slow", "in-flight", "wait", args});
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::optional<Frames> request;
    while (!request && std::chrono::steady_clock::now() < deadline) {
        auto message = receive(worker, 1s);
        if (message && message->size() >= 2 && text((*message)[1]) == "\x02")
            request = std::move(message);
    }
    QVERIFY2(request, "the worker never received the request");

    // The second request has no free worker, so it waits in the queue. The broker reads one
    // connection in order, so the MMI answer on the same socket proves it has been queued.
    send(classic, {"", "MDPC01", "slow", "queued", "wait", args});
    send(classic, {"", "MDPC01", "mmi.services", "sync", "list", args});
    const auto sync = receive(classic, 5s);
    QVERIFY(sync);
    QCOMPARE(sync->size(), 6u);
    QCOMPARE(text((*sync)[3]), std::string("sync"));

    QCOMPARE(::kill(static_cast<pid_t>(switchboard.process().processId()), signalNumber), 0);

    // 18/MDP FINAL [MDPC02, 0x03, service, request id, 0x01, error]
    const auto inFlight = receive(streaming, 5s);
    QVERIFY2(inFlight, "no answer to the in-flight request");
    QCOMPARE(inFlight->size(), 6u);
    QCOMPARE(text((*inFlight)[0]), std::string("MDPC02"));
    QCOMPARE(text((*inFlight)[1]), std::string("\x03"));
    QCOMPARE(text((*inFlight)[3]), std::string("in-flight"));
    QCOMPARE(text((*inFlight)[4]), std::string("\x01"));
    QCOMPARE(errorType((*inFlight)[5]), QStringLiteral("BrokerShutdown"));

    // 7/MDP REPLY [empty, MDPC01, service, request id, 0x01, error]
    const auto queued = receive(classic, 5s);
    QVERIFY2(queued, "no answer to the queued request");
    QCOMPARE(queued->size(), 6u);
    QCOMPARE(text((*queued)[1]), std::string("MDPC01"));
    QCOMPARE(text((*queued)[3]), std::string("queued"));
    QCOMPARE(text((*queued)[4]), std::string("\x01"));
    QCOMPARE(errorType((*queued)[5]), QStringLiteral("BrokerShutdown"));

    // The worker is told to go, after any heartbeats still on the way.
    bool disconnected = false;
    const auto disconnectDeadline = std::chrono::steady_clock::now() + 5s;
    while (!disconnected && std::chrono::steady_clock::now() < disconnectDeadline) {
        const auto message = receive(worker, 1s);
        disconnected = message && message->size() == 2 && text((*message)[0]) == "MDPW02" &&
                       text((*message)[1]) == "\x06";
    }
    QVERIFY2(disconnected, "the worker never received DISCONNECT");

    QVERIFY2(switchboard.process().waitForFinished(5000), "still running 5 s after the signal");
    QCOMPARE(switchboard.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(switchboard.process().exitCode(), 0);
}

namespace {

QFile::Permissions modeOf(const QString& path)
{
    return QFileInfo(path).permissions() & (QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner |
                                            QFile::ReadGroup | QFile::WriteGroup | QFile::ExeGroup |
                                            QFile::ReadOther | QFile::WriteOther | QFile::ExeOther);
}

QByteArray contentOf(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The Z85 public key in a certificate file.
QString publicKeyIn(const QString& path)
{
    const auto match =
        QRegularExpression(QStringLiteral("public-key = \"(.{40})\"")).match(contentOf(path));
    return match.hasMatch() ? match.captured(1) : QString();
}

} // namespace

void TstCli::keygenWritesAKeyPair()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString name = dir.filePath(QStringLiteral("billing"));
    const Outcome outcome = run({"keygen", name});
    QVERIFY2(outcome.finished && outcome.exitCode == 0, qPrintable(describe(outcome)));
    const QString secretFile = name + ".key";
    const QString publicFile = name + ".pub";
    // The secret is its owner's alone; the public half is meant to be handed out.
    QCOMPARE(modeOf(secretFile), QFile::ReadOwner | QFile::WriteOwner);
    QVERIFY(modeOf(publicFile) & QFile::ReadOther);
    const QByteArray secret = contentOf(secretFile);
    const QByteArray pub = contentOf(publicFile);
    QVERIFY2(secret.contains("\ncurve\n    public-key = \"") && secret.contains("secret-key = \""),
             secret.constData());
    QVERIFY2(!pub.contains("secret-key"), pub.constData());
    QCOMPARE(publicKeyIn(secretFile), publicKeyIn(publicFile));
    QCOMPARE(publicKeyIn(publicFile).size(), 40);
    QVERIFY2(outcome.out.contains(publicKeyIn(publicFile)), qPrintable(outcome.out));

    // Two runs, two different keys.
    const Outcome second = run({"keygen", dir.filePath(QStringLiteral("other"))});
    QCOMPARE(second.exitCode, 0);
    QVERIFY(publicKeyIn(dir.filePath(QStringLiteral("other.pub"))) != publicKeyIn(publicFile));

    const Outcome help = run({"keygen", "--help"});
    QCOMPARE(help.exitCode, 0);
    QVERIFY2(help.out.contains("--force") && help.out.contains("NAME.pub"), qPrintable(help.out));
}

void TstCli::keygenRefusesToOverwrite()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString name = dir.filePath(QStringLiteral("broker"));
    QCOMPARE(run({"keygen", name}).exitCode, 0);
    const QByteArray before = contentOf(name + ".key");

    const Outcome again = run({"keygen", name});
    QVERIFY2(again.finished && again.exitCode == 1, qPrintable(describe(again)));
    QCOMPARE(again.errLines.size(), 1);
    QVERIFY2(again.errLines.first().contains(name + ".key") &&
                 again.errLines.first().contains("--force"),
             qPrintable(again.errLines.first()));
    QCOMPARE(contentOf(name + ".key"), before);

    const Outcome forced = run({"keygen", "--force", name});
    QVERIFY2(forced.finished && forced.exitCode == 0, qPrintable(describe(forced)));
    QVERIFY(contentOf(name + ".key") != before);
    QCOMPARE(modeOf(name + ".key"), QFile::ReadOwner | QFile::WriteOwner);
}

void TstCli::keygenBadArguments_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("no name") << QStringList{"keygen"} << 2 << "NAME";
    QTest::newRow("two names") << QStringList{"keygen", "a", "b"} << 2 << "one NAME";
    QTest::newRow("unknown option") << QStringList{"keygen", "--bits", "a"} << 2 << "bits";
    QTest::newRow("unwritable directory")
        << QStringList{"keygen", "/nonexistent/dir/key"} << 1 << "/nonexistent/dir/key.key";
}

void TstCli::keygenBadArguments()
{
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, mentions);
    const Outcome outcome = run(arguments);
    QVERIFY2(outcome.finished, qPrintable(describe(outcome)));
    QCOMPARE(outcome.exitCode, exitCode);
    QCOMPARE(outcome.errLines.size(), 1);
    QVERIFY2(outcome.errLines.first().startsWith(QLatin1String("switchboard keygen: ")),
             qPrintable(outcome.errLines.first()));
    QVERIFY2(outcome.errLines.first().contains(mentions), qPrintable(outcome.errLines.first()));
}

void TstCli::curveBrokerLetsInAuthorizedKeysOnly()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString authorized = dir.filePath(QStringLiteral("authorized"));
    QVERIFY(QDir().mkpath(authorized + "/clients"));
    for (const char* name : {"broker", "alice", "mallory"}) {
        QCOMPARE(run({"keygen", dir.filePath(QLatin1String(name))}).exitCode, 0);
    }
    QVERIFY(QFile::copy(dir.filePath("alice.pub"), authorized + "/clients/alice.pub"));

    SwitchboardProcess switchboard(kSwitchboard);
    switchboard.start({"--no-gui", "--frontend", kWildcard, "--backend", kWildcard, "--no-admin",
                       "--curve-key", dir.filePath("broker.key"), "--authorized-keys", authorized});
    QVERIFY2(switchboard.waitReady(), qPrintable(switchboard.stderrText()));
    const QString frontend = switchboard.frontends().value(0);
    const auto services = [&](const char* key, int timeoutMs = 10000) {
        QStringList arguments{"services", "--broker", frontend, "--timeout",
                              QString::number(timeoutMs)};
        if (key) {
            arguments << "--server-key" << dir.filePath("broker.pub") << "--key"
                      << dir.filePath(QLatin1String(key) + ".key");
        }
        return run(arguments, timeoutMs + 10000);
    };

    const Outcome alice = services("alice");
    QVERIFY2(alice.finished && alice.exitCode == 0, qPrintable(describe(alice)));
    QVERIFY2(alice.out.contains("no services"), qPrintable(alice.out));

    // An unknown key is refused at once, long before the timeout, and says so.
    const Outcome mallory = services("mallory", 60000);
    QVERIFY2(mallory.finished && mallory.exitCode == 3, qPrintable(describe(mallory)));
    QVERIFY2(mallory.errLines.join(' ').contains("refused the connection's handshake"),
             qPrintable(describe(mallory)));

    // Without CURVE nothing gets through either; this used to hang in a blocking send.
    const Outcome plain = services(nullptr, 60000);
    QVERIFY2(plain.finished && plain.exitCode == 3, qPrintable(describe(plain)));
    QVERIFY2(plain.errLines.join(' ').contains("requires CURVE"), qPrintable(describe(plain)));

    // SIGHUP re-reads the directory (the watch may have done it already: either way, in).
    QVERIFY(QFile::copy(dir.filePath("mallory.pub"), authorized + "/mallory.pub"));
    QCOMPARE(::kill(static_cast<pid_t>(switchboard.process().processId()), SIGHUP), 0);
    QTRY_COMPARE_WITH_TIMEOUT(services("mallory", 3000).exitCode, 0, 20000);
    QCOMPARE(switchboard.process().state(), QProcess::Running);
}

// Two brokers with raw 18/MDP workers: two for calc on the first, one for calc and one for
// search on the second. They only register: the brokers' heartbeats are slowed down so that
// they stay registered without answering any.
struct TwoBrokers {
    TwoBrokers()
        : first(kSwitchboard)
        , second(kSwitchboard)
    {
        for (SwitchboardProcess* broker : {&first, &second}) {
            broker->start({"--no-gui", "--frontend", kWildcard, "--backend", kWildcard,
                           "--no-admin", "--heartbeat-ms", "60000"});
        }
    }

    bool start()
    {
        if (!first.waitReady() || !second.waitReady()) {
            return false;
        }
        const auto add = [this](SwitchboardProcess& broker, std::string_view service) {
            workers.emplace_back(context, zmq::socket_type::dealer);
            workers.back().set(zmq::sockopt::linger, 0);
            workers.back().connect(broker.backends().value(0).toStdString());
            send(workers.back(), {"MDPW02", "\x01", service});
        };
        add(first, "calc");
        add(first, "calc");
        add(second, "calc");
        add(second, "search");
        return true;
    }

    QStringList brokerArguments() const
    {
        return {"--broker", first.frontends().value(0), "--broker", second.frontends().value(0)};
    }

    SwitchboardProcess first;
    SwitchboardProcess second;
    zmq::context_t context;
    std::vector<zmq::socket_t> workers;
};

void TstCli::servicesMergesSeveralBrokers()
{
    TwoBrokers brokers;
    QVERIFY2(brokers.start(), qPrintable(brokers.first.stderrText() + brokers.second.stderrText()));
    const QString first = brokers.first.frontends().value(0);
    const QString second = brokers.second.frontends().value(0);

    // The totals per service, then each broker's share, named.
    Outcome table;
    QTRY_VERIFY2_WITH_TIMEOUT((table = run(QStringList{"services"} + brokers.brokerArguments()),
                               table.out.contains(QStringLiteral("search"))),
                              qPrintable(describe(table)), 10000);
    QVERIFY2(table.finished && table.exitCode == 0, qPrintable(describe(table)));
    QVERIFY2(table.errLines.isEmpty(), qPrintable(describe(table)));
    QStringList lines;
    for (const QString& line : table.out.split('\n', Qt::SkipEmptyParts)) {
        lines << line.simplified();
        QVERIFY2(line.size() <= 100, qPrintable(line));
    }
    QCOMPARE(lines, (QStringList{"SERVICE / BROKER WORKERS IN FLIGHT CAPACITY QUEUED",
                                 "calc 3 0 3 0", first + " 2 0 2 0", second + " 1 0 1 0",
                                 "search 1 0 1 0", first + " 0 0 0 0", second + " 1 0 1 0"}));

    const Outcome json = run(QStringList{"services", "--json"} + brokers.brokerArguments());
    QVERIFY2(json.finished && json.exitCode == 0, qPrintable(describe(json)));
    const QJsonObject services = QJsonDocument::fromJson(json.out.toUtf8()).object();
    const QJsonObject calc = services.value("calc").toObject();
    QCOMPARE(calc.value("workers").toInt(), 3);
    QCOMPARE(calc.value("brokers").toObject().value(first).toObject().value("workers").toInt(), 2);
    QCOMPARE(calc.value("brokers").toObject().value(second).toObject().value("workers").toInt(), 1);
    QCOMPARE(services.value("search").toObject().value("workers").toInt(), 1);
}

void TstCli::servicesShowsTheBrokersThatAnswer()
{
    TwoBrokers brokers;
    QVERIFY2(brokers.start(), qPrintable(brokers.first.stderrText() + brokers.second.stderrText()));
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString absent = QStringLiteral("ipc://") + dir.filePath(QStringLiteral("nobody"));

    Outcome outcome;
    QTRY_VERIFY2_WITH_TIMEOUT(
        (outcome = run(QStringList{"services", "--timeout", "1000", "--broker", absent} +
                       brokers.brokerArguments()),
         outcome.out.contains(QStringLiteral("search"))),
        qPrintable(describe(outcome)), 10000);
    // Exit code 3 says that not every broker answered; the ones that did are listed.
    QVERIFY2(outcome.finished && outcome.exitCode == 3, qPrintable(describe(outcome)));
    QCOMPARE(outcome.errLines,
             QStringList{QStringLiteral("switchboard: no answer from the broker at %1 within "
                                        "1000 ms (is it running?)")
                             .arg(absent)});
    QVERIFY2(outcome.out.contains(QRegularExpression(QStringLiteral("^calc +3 +0 +3 +0$"),
                                                     QRegularExpression::MultilineOption)),
             qPrintable(outcome.out));
    QVERIFY2(!outcome.out.contains(absent), qPrintable(outcome.out));

    // With every broker away there is nothing to list.
    const Outcome none = run({"services", "--timeout", "500", "--broker", absent});
    QVERIFY2(none.finished && none.exitCode == 3 && none.out.isEmpty(), qPrintable(describe(none)));
}

QTEST_GUILESS_MAIN(TstCli)
#include "tst_cli.moc"
