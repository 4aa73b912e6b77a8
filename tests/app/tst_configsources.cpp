// The broker's options from a config file, SWITCHBOARD_<OPTION> variables and the command line,
// parsed in-process (parseCommandLine with an environment of the test's own): which source wins,
// and what an operator reads when a file or a variable is wrong. tst_config runs the executable.

#include "configfile.h"
#include "configsources.h"
#include "options.h"

#include <QFile>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTest>

#include <chrono>
#include <optional>
#include <variant>

using namespace std::chrono_literals;
using switchboard::CommandLineExit;
using switchboard::Options;

namespace {

using Variables = QList<QPair<QString, QString>>;

struct Parsed {
    std::optional<Options> options;
    CommandLineExit exit;
    QStringList warnings;
};

class TstConfigSources : public QObject {
    Q_OBJECT

private:
    // A config file with `text` in the test's directory.
    QString writeFile(const QString& text, const QString& name = QStringLiteral("broker.conf"))
    {
        const QString path = m_directory.filePath(name);
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            qFatal("cannot write %s", qPrintable(path));
        }
        file.write(text.toUtf8());
        return path;
    }

    static Parsed parse(const QStringList& arguments, const Variables& variables = {})
    {
        QProcessEnvironment environment;
        for (const auto& [name, value] : variables) {
            environment.insert(name, value);
        }
        Parsed parsed;
        auto result = switchboard::parseCommandLine(
            QStringList{QStringLiteral("switchboard")} + arguments, environment, parsed.warnings);
        if (auto* options = std::get_if<Options>(&result)) {
            parsed.options = *options;
        } else {
            parsed.exit = std::get<CommandLineExit>(result);
        }
        return parsed;
    }

    QTemporaryDir m_directory;

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_directory.isValid()); }

    void numberPrecedence();
    void sizePrecedence();
    void repeatableEndpointPrecedence();
    void switchPrecedence();
    void switchWords_data();
    void switchWords();
    void configVariableNamesTheFile();
    void commentsAndBlankLines();
    void badFile_data();
    void badFile();
    void badVariable_data();
    void badVariable();
    void unknownVariablesOnlyWarnWhenNearAnOption();
    void crossOptionRulesStillApply();
};

void TstConfigSources::numberPrecedence()
{
    const QString file = writeFile(QStringLiteral("max-queue = 5000\n"));
    const Variables env{{QStringLiteral("SWITCHBOARD_MAX_QUEUE"), QStringLiteral("6000")}};

    QCOMPARE(parse({}).options->broker.maxQueuePerService, 10000u);
    QCOMPARE(parse({"--config", file}).options->broker.maxQueuePerService, 5000u);
    QCOMPARE(parse({"--config", file}, env).options->broker.maxQueuePerService, 6000u);
    QCOMPARE(
        parse({"--config", file, "--max-queue", "7000"}, env).options->broker.maxQueuePerService,
        7000u);
}

void TstConfigSources::sizePrecedence()
{
    const QString file = writeFile(QStringLiteral("max-queued-bytes = 1M\n"));
    const Variables env{{QStringLiteral("SWITCHBOARD_MAX_QUEUED_BYTES"), QStringLiteral("2M")}};

    QCOMPARE(parse({}).options->broker.maxQueuedBytes, std::size_t{256} << 20);
    QCOMPARE(parse({"--config", file}).options->broker.maxQueuedBytes, std::size_t{1} << 20);
    QCOMPARE(parse({"--config", file}, env).options->broker.maxQueuedBytes, std::size_t{2} << 20);
    QCOMPARE(
        parse({"--config", file, "--max-queued-bytes", "3G"}, env).options->broker.maxQueuedBytes,
        std::size_t{3} << 30);
}

void TstConfigSources::repeatableEndpointPrecedence()
{
    // The file's lines accumulate and replace the default; a higher source replaces them whole.
    const QString file = writeFile(QStringLiteral("frontend = tcp://127.0.0.1:6001\n"
                                                  "backend = tcp://127.0.0.1:6100\n"
                                                  "frontend = ipc:///tmp/switchboard-a\n"));
    const Variables env{{QStringLiteral("SWITCHBOARD_FRONTEND"),
                         QStringLiteral("tcp://127.0.0.1:6002, tcp://127.0.0.1:6003 "
                                        "tcp://127.0.0.1:6004")}};

    QCOMPARE(parse({}).options->broker.frontendEndpoints,
             QStringList{QStringLiteral("tcp://127.0.0.1:5555")});
    const Parsed fromFile = parse({"--config", file});
    QCOMPARE(fromFile.options->broker.frontendEndpoints,
             (QStringList{"tcp://127.0.0.1:6001", "ipc:///tmp/switchboard-a"}));
    QCOMPARE(fromFile.options->broker.backendEndpoints, (QStringList{"tcp://127.0.0.1:6100"}));
    const Parsed fromEnv = parse({"--config", file}, env);
    QCOMPARE(fromEnv.options->broker.frontendEndpoints,
             (QStringList{"tcp://127.0.0.1:6002", "tcp://127.0.0.1:6003", "tcp://127.0.0.1:6004"}));
    QCOMPARE(fromEnv.options->broker.backendEndpoints, (QStringList{"tcp://127.0.0.1:6100"}));
    QCOMPARE(parse({"--config", file, "--frontend", "tcp://127.0.0.1:6005"}, env)
                 .options->broker.frontendEndpoints,
             (QStringList{"tcp://127.0.0.1:6005"}));
}

void TstConfigSources::switchPrecedence()
{
    const QString on = writeFile(QStringLiteral("no-gui = true\n"), QStringLiteral("on.conf"));
    const Variables off{{QStringLiteral("SWITCHBOARD_NO_GUI"), QStringLiteral("false")}};

    QVERIFY(!parse({}).options->noGui);
    QVERIFY(parse({"--config", on}).options->noGui);
    QVERIFY(!parse({"--config", on}, off).options->noGui);
    QVERIFY(parse({"--config", on, "--no-gui"}, off).options->noGui);
}

void TstConfigSources::switchWords_data()
{
    QTest::addColumn<QString>("word");
    QTest::addColumn<bool>("on");
    for (const auto& [word, on] : {std::pair{"true", true},
                                   {"yes", true},
                                   {"on", true},
                                   {"1", true},
                                   {"TRUE", true},
                                   {"false", false},
                                   {"no", false},
                                   {"off", false},
                                   {"0", false},
                                   {"Off", false}}) {
        QTest::newRow(word) << QString::fromLatin1(word) << on;
    }
}

void TstConfigSources::switchWords()
{
    QFETCH(QString, word);
    QFETCH(bool, on);
    const QString file = writeFile(QStringLiteral("demo = %1\n").arg(word));
    QCOMPARE(parse({"--config", file}).options->demo, on);
    QCOMPARE(parse({}, {{QStringLiteral("SWITCHBOARD_DEMO"), word}}).options->demo, on);
}

void TstConfigSources::configVariableNamesTheFile()
{
    const QString a = writeFile(QStringLiteral("liveness = 7\n"), QStringLiteral("a.conf"));
    const QString b = writeFile(QStringLiteral("liveness = 9\n"), QStringLiteral("b.conf"));
    const Variables env{{QStringLiteral("SWITCHBOARD_CONFIG"), a}};
    QCOMPARE(parse({}, env).options->broker.liveness, 7);
    // --config wins over SWITCHBOARD_CONFIG, like every command-line option over its variable.
    QCOMPARE(parse({"--config", b}, env).options->broker.liveness, 9);
}

void TstConfigSources::commentsAndBlankLines()
{
    const QString file = writeFile(QStringLiteral("# the broker of host a\n"
                                                  "\n"
                                                  "   # indented comment\n"
                                                  "heartbeat-ms=1000   # one second\n"
                                                  "  log-level   =   warning  \n"
                                                  "admin = ipc:///tmp/a#b\n"));
    const Parsed parsed = parse({"--config", file});
    QVERIFY2(parsed.options, qPrintable(parsed.exit.error));
    QCOMPARE(parsed.options->broker.heartbeatInterval, 1000ms);
    QCOMPARE(parsed.options->logLevel, QStringLiteral("warning"));
    // A '#' inside a value, not after white space, is part of it.
    QCOMPARE(parsed.options->broker.adminEndpoints, (QStringList{"ipc:///tmp/a#b"}));
}

void TstConfigSources::badFile_data()
{
    QTest::addColumn<QString>("text");
    // What the one error line must say after "switchboard: PATH", so that the operator knows
    // where to look and what to fix.
    QTest::addColumn<QStringList>("expected");

    QTest::newRow("line without =") << QStringLiteral("max-queue = 5\nmax-attempts 4\n")
                                    << QStringList{":2: ", "'max-attempts 4'", "no '='"};
    QTest::newRow("unknown option, near one")
        << QStringLiteral("max-queu = 5\n")
        << QStringList{":1: ", "unknown option 'max-queu'", "did you mean 'max-queue'?"};
    QTest::newRow("unknown option, near none")
        << QStringLiteral("\ncolour = blue\n")
        << QStringList{":2: ", "unknown option 'colour'", "switchboard --help"};
    QTest::newRow("value that does not validate")
        << QStringLiteral("# limits\n\nmax-queue = lots\n")
        << QStringList{":3: --max-queue takes a whole number from 1 to", "not 'lots'"};
    QTest::newRow("size that does not validate")
        << QStringLiteral("max-message-bytes = 12\n")
        << QStringList{":1: --max-message-bytes takes a whole number from 1024", "not '12'"};
    QTest::newRow("log level") << QStringLiteral("log-level = loud\n")
                               << QStringList{":1: --log-level takes debug", "'loud'"};
    QTest::newRow("switch with a non-boolean value")
        << QStringLiteral("no-gui = maybe\n")
        << QStringList{":1: no-gui is a switch", "true or false", "not 'maybe'"};
    QTest::newRow("single-valued option twice")
        << QStringLiteral("max-queue = 5\n# more\nmax-queue = 6\n")
        << QStringList{":3: 'max-queue' is given a second time (first on line 1)"};
    QTest::newRow("switch twice") << QStringLiteral("demo = on\ndemo = off\n")
                                  << QStringList{":2: 'demo'", "first on line 1"};
    QTest::newRow("config inside") << QStringLiteral("config = /etc/other.conf\n")
                                   << QStringList{":1: 'config' cannot be set in a config file"};
    QTest::newRow("help inside") << QStringLiteral("help = true\n")
                                 << QStringList{":1: 'help' cannot be set in a config file"};
    QTest::newRow("version inside")
        << QStringLiteral("version = true\n") << QStringList{":1: 'version' cannot be set"};
    QTest::newRow("no value") << QStringLiteral("frontend =\n")
                              << QStringList{":1: 'frontend' has no value"};
    QTest::newRow("dashes") << QStringLiteral("--max-queue = 5\n")
                            << QStringList{":1: write the option without dashes: 'max-queue"};
    QTest::newRow("no name") << QStringLiteral("= 5\n") << QStringList{":1: no option name"};
}

void TstConfigSources::badFile()
{
    QFETCH(QString, text);
    QFETCH(QStringList, expected);
    const QString file = writeFile(text);
    const Parsed parsed = parse({"--config", file});
    QVERIFY(!parsed.options);
    QCOMPARE(parsed.exit.exitCode, switchboard::kUsageError);
    const QString prefix = QStringLiteral("switchboard: %1").arg(file);
    QVERIFY2(parsed.exit.error.startsWith(prefix), qPrintable(parsed.exit.error));
    for (const QString& part : expected) {
        QVERIFY2(parsed.exit.error.contains(part),
                 qPrintable(QStringLiteral("'%1' lacks '%2'").arg(parsed.exit.error, part)));
    }
}

void TstConfigSources::badVariable_data()
{
    QTest::addColumn<QString>("variable");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("expected");

    QTest::newRow("number") << QStringLiteral("SWITCHBOARD_MAX_QUEUE") << QStringLiteral("lots")
                            << QStringLiteral("switchboard: SWITCHBOARD_MAX_QUEUE: --max-queue "
                                              "takes a whole number from 1 to 2147483647, not "
                                              "'lots'");
    QTest::newRow("size") << QStringLiteral("SWITCHBOARD_SOCKET_HWM") << QStringLiteral("10T")
                          << QStringLiteral("switchboard: SWITCHBOARD_SOCKET_HWM: --socket-hwm "
                                            "takes a whole number");
    QTest::newRow("switch") << QStringLiteral("SWITCHBOARD_NO_GUI") << QStringLiteral("maybe")
                            << QStringLiteral("switchboard: SWITCHBOARD_NO_GUI: no-gui is a "
                                              "switch");
    QTest::newRow("empty") << QStringLiteral("SWITCHBOARD_BACKEND") << QStringLiteral(" , ")
                           << QStringLiteral("switchboard: SWITCHBOARD_BACKEND is empty");
    QTest::newRow("missing config file")
        << QStringLiteral("SWITCHBOARD_CONFIG") << QStringLiteral("/nonexistent/switchboard.conf")
        << QStringLiteral("switchboard: /nonexistent/switchboard.conf: cannot read the config "
                          "file: No such file or directory (from SWITCHBOARD_CONFIG)");
}

void TstConfigSources::badVariable()
{
    QFETCH(QString, variable);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    const Parsed parsed = parse({}, {{variable, value}});
    QVERIFY(!parsed.options);
    QCOMPARE(parsed.exit.exitCode, switchboard::kUsageError);
    QVERIFY2(parsed.exit.error.startsWith(expected), qPrintable(parsed.exit.error));
}

void TstConfigSources::unknownVariablesOnlyWarnWhenNearAnOption()
{
    const Parsed parsed = parse({}, {{QStringLiteral("SWITCHBOARD_MAX_QUEU"), QStringLiteral("5")},
                                     {QStringLiteral("SWITCHBOARD_FRONTENDS"), QStringLiteral("x")},
                                     {QStringLiteral("SWITCHBOARD_DEMO_SCREENSHOT"), "/tmp/a.png"},
                                     {QStringLiteral("SWITCHBOARD_DEMO_SECONDS"), "3"},
                                     {QStringLiteral("SWITCHBOARD_PYTHON"), "/usr/bin/python3"},
                                     {QStringLiteral("SWITCHBOARD_EXECUTABLE"), "switchboard"}});
    QVERIFY2(parsed.options, qPrintable(parsed.exit.error));
    QCOMPARE(parsed.options->broker.maxQueuePerService, 10000u);
    QCOMPARE(parsed.warnings.size(), 2);
    QVERIFY2(parsed.warnings[0].contains(QLatin1String("SWITCHBOARD_FRONTENDS")) &&
                 parsed.warnings[0].contains(QLatin1String("did you mean SWITCHBOARD_FRONTEND?")),
             qPrintable(parsed.warnings[0]));
    QVERIFY2(parsed.warnings[1].contains(QLatin1String("SWITCHBOARD_MAX_QUEU ")) &&
                 parsed.warnings[1].contains(QLatin1String("did you mean SWITCHBOARD_MAX_QUEUE?")),
             qPrintable(parsed.warnings[1]));
}

void TstConfigSources::crossOptionRulesStillApply()
{
    // The rules between options are the table's, whichever source each option came from.
    const QString file = writeFile(QStringLiteral("authorized-keys = /etc/switchboard/keys\n"));
    const Parsed parsed = parse({"--config", file});
    QVERIFY(!parsed.options);
    QCOMPARE(parsed.exit.exitCode, switchboard::kUsageError);
    QVERIFY2(parsed.exit.error.startsWith(QStringLiteral("switchboard: %1:1: --curve-key and "
                                                         "--authorized-keys go together")
                                              .arg(file)),
             qPrintable(parsed.exit.error));

    const Parsed contradiction = parse({"--admin", "tcp://127.0.0.1:7000"},
                                       {{QStringLiteral("SWITCHBOARD_NO_ADMIN"), "yes"}});
    QVERIFY(!contradiction.options);
    QVERIFY2(contradiction.exit.error.startsWith(
                 QLatin1String("switchboard: SWITCHBOARD_NO_ADMIN: --admin and --no-admin")),
             qPrintable(contradiction.exit.error));
}

} // namespace

QTEST_GUILESS_MAIN(TstConfigSources)
#include "tst_configsources.moc"
