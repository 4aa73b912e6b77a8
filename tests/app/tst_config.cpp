// The `switchboard` executable configured by a file and SWITCHBOARD_<OPTION> variables, as an
// operator uses it: --print-config and what it says of each value, the commented config file
// shipped in resources/, a broker that serves on the endpoints of its file, and the exit code of
// a bad file. tst_configsources checks the merge rules in-process.

#include "switchboardprocess.h"

#include <QFile>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <map>
#include <utility>

namespace {

const QString kSwitchboard = QStringLiteral(SWITCHBOARD_EXECUTABLE);
const QString kShippedConfig = QStringLiteral(SWITCHBOARD_SHIPPED_CONFIG);

struct Outcome {
    bool finished = false;
    int exitCode = -1;
    QString out;
    QString err;
};

// The test's environment without the SWITCHBOARD_* variables of whoever runs it, plus `extra`.
QProcessEnvironment environment(const QList<QPair<QString, QString>>& extra = {})
{
    QProcessEnvironment result = QProcessEnvironment::systemEnvironment();
    for (const QString& name : result.keys()) {
        if (name.startsWith(QLatin1String("SWITCHBOARD_"))) {
            result.remove(name);
        }
    }
    for (const auto& [name, value] : extra) {
        result.insert(name, value);
    }
    return result;
}

Outcome run(const QStringList& arguments, const QProcessEnvironment& env = environment())
{
    QProcess process;
    process.setProcessEnvironment(env);
    process.start(kSwitchboard, arguments);
    Outcome outcome;
    outcome.finished = process.waitForStarted() && process.waitForFinished(10000);
    if (!outcome.finished) {
        process.kill();
        process.waitForFinished();
    }
    outcome.exitCode = process.exitCode();
    outcome.out = QString::fromUtf8(process.readAllStandardOutput());
    outcome.err = QString::fromUtf8(process.readAllStandardError());
    return outcome;
}

QString describe(const Outcome& outcome)
{
    return QStringLiteral("finished=%1 exit=%2 stdout=[%3] stderr=[%4]")
        .arg(outcome.finished)
        .arg(outcome.exitCode)
        .arg(outcome.out, outcome.err);
}

// One `name = value   # source` line of --print-config.
struct Setting {
    QString value;
    QString source;
    bool operator==(const Setting&) const = default;
};
// Each option's settings in order; an option without a value ("#name =") has none.
using PrintedConfig = std::map<QString, QList<Setting>>;

PrintedConfig parsePrinted(const QString& text)
{
    static const QRegularExpression line(
        QStringLiteral("^(#?)([a-z][a-z0-9-]*) =(?: (\\S+))?\\s+# (.*)$"));
    PrintedConfig printed;
    for (const QString& row : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
        const QRegularExpressionMatch match = line.match(row);
        if (!match.hasMatch()) {
            continue; // the header
        }
        QList<Setting>& settings = printed[match.captured(2)];
        if (match.captured(1).isEmpty()) {
            settings.append({match.captured(3), match.captured(4)});
        }
    }
    return printed;
}

// The values alone, without where they came from.
std::map<QString, QStringList> valuesOf(const PrintedConfig& printed)
{
    std::map<QString, QStringList> values;
    for (const auto& [name, settings] : printed) {
        QStringList& list = values[name];
        for (const Setting& setting : settings) {
            list << setting.value;
        }
    }
    return values;
}

class TstConfig : public QObject {
    Q_OBJECT

private:
    QString writeFile(const QString& name, const QString& text)
    {
        const QString path = m_directory.filePath(name);
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            qFatal("cannot write %s", qPrintable(path));
        }
        file.write(text.toUtf8());
        return path;
    }

    // --print-config with `arguments`, parsed; fails the test when it does not exit 0.
    PrintedConfig printConfig(const QStringList& arguments,
                              const QProcessEnvironment& env = environment())
    {
        const Outcome outcome = run(QStringList{QStringLiteral("--print-config")} + arguments, env);
        if (!outcome.finished || outcome.exitCode != 0) {
            qWarning("%s", qPrintable(describe(outcome)));
            return {};
        }
        return parsePrinted(outcome.out);
    }

    QTemporaryDir m_directory;

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_directory.isValid()); }

    void helpMentionsTheConfiguration();
    void printConfigSaysWhereEachValueCameFrom();
    void printedConfigReadsBackTheSame();
    void shippedConfigParsesToTheDefaults();
    void shippedConfigMentionsEveryOption();
    void brokerServesOnTheEndpointsOfItsFile();
    void badFileIsAUsageError();
    void misspeltVariableIsAWarning();
};

void TstConfig::helpMentionsTheConfiguration()
{
    const Outcome outcome = run({QStringLiteral("--help")});
    QVERIFY2(outcome.finished && outcome.exitCode == 0, qPrintable(describe(outcome)));
    for (const char* part : {"--config", "--print-config", "SWITCHBOARD_<OPTION>",
                             "SWITCHBOARD_CONFIG", "SWITCHBOARD_MAX_QUEUE"}) {
        QVERIFY2(outcome.out.contains(QLatin1String(part)),
                 qPrintable(QStringLiteral("--help does not mention %1").arg(part)));
    }
}

void TstConfig::printConfigSaysWhereEachValueCameFrom()
{
    const QString file =
        writeFile(QStringLiteral("sources.conf"), QStringLiteral("# the file\n"
                                                                 "max-queue = 5000\n"
                                                                 "frontend = tcp://127.0.0.1:6001\n"
                                                                 "liveness = 4\n"
                                                                 "frontend = tcp://127.0.0.1:6002\n"
                                                                 "max-held-bytes = 1048576\n"
                                                                 "demo = yes\n"));
    const PrintedConfig printed = printConfig(
        {QStringLiteral("--config"), file, QStringLiteral("--liveness"), QStringLiteral("6")},
        environment({{QStringLiteral("SWITCHBOARD_MAX_QUEUE"), QStringLiteral("6000")},
                     {QStringLiteral("SWITCHBOARD_BACKEND"),
                      QStringLiteral("tcp://127.0.0.1:6100,tcp://127.0.0.1:6101")}}));
    QVERIFY(!printed.empty());

    QCOMPARE(printed.at("max-queue"), (QList<Setting>{{"6000", "SWITCHBOARD_MAX_QUEUE"}}));
    QCOMPARE(printed.at("frontend"), (QList<Setting>{{"tcp://127.0.0.1:6001", file + ":3"},
                                                     {"tcp://127.0.0.1:6002", file + ":5"}}));
    QCOMPARE(printed.at("backend"),
             (QList<Setting>{{"tcp://127.0.0.1:6100", "SWITCHBOARD_BACKEND"},
                             {"tcp://127.0.0.1:6101", "SWITCHBOARD_BACKEND"}}));
    QCOMPARE(printed.at("liveness"), (QList<Setting>{{"6", "command line"}}));
    // Printed as the option takes it, with the suffix of --help.
    QCOMPARE(printed.at("max-held-bytes"), (QList<Setting>{{"1M", file + ":6"}}));
    QCOMPARE(printed.at("demo"), (QList<Setting>{{"true", file + ":7"}}));
    QCOMPARE(printed.at("no-gui"), (QList<Setting>{{"false", "default"}}));
    QCOMPARE(printed.at("max-held-per-client"), (QList<Setting>{{"64M", "default"}}));
    QCOMPARE(printed.at("admin"), (QList<Setting>{{"tcp://127.0.0.1:5557", "default"}}));
    QCOMPARE(printed.at("curve-key"), QList<Setting>{});
}

void TstConfig::printedConfigReadsBackTheSame()
{
    const QString file = writeFile(QStringLiteral("first.conf"),
                                   QStringLiteral("max-queued-bytes = 2097152\n"
                                                  "admin = ipc:///tmp/switchboard-admin\n"
                                                  "no-gui = on\n"));
    const Outcome first =
        run({QStringLiteral("--print-config"), QStringLiteral("--config"), file,
             QStringLiteral("--frontend"), QStringLiteral("tcp://127.0.0.1:7001"),
             QStringLiteral("--frontend"), QStringLiteral("ipc:///tmp/switchboard-front")},
            environment({{QStringLiteral("SWITCHBOARD_REQUEST_TIMEOUT_MS"), "2500"}}));
    QVERIFY2(first.finished && first.exitCode == 0, qPrintable(describe(first)));

    const QString saved = writeFile(QStringLiteral("saved.conf"), first.out);
    const PrintedConfig again = printConfig({QStringLiteral("--config"), saved});
    QVERIFY(!again.empty());
    QCOMPARE(valuesOf(again), valuesOf(parsePrinted(first.out)));
    // Every value now comes from its line of the saved file.
    const QStringList savedLines = first.out.split(QLatin1Char('\n'));
    const auto lineOf = [&savedLines, &saved](const QString& start) {
        for (qsizetype index = 0; index < savedLines.size(); ++index) {
            if (savedLines[index].startsWith(start)) {
                return QStringLiteral("%1:%2").arg(saved).arg(index + 1);
            }
        }
        return QString();
    };
    QCOMPARE(again.at("frontend").first().source, lineOf("frontend = "));
    QCOMPARE(again.at("max-queued-bytes"), (QList<Setting>{{"2M", lineOf("max-queued-bytes = ")}}));
    QCOMPARE(again.at("request-timeout-ms").first().value, QStringLiteral("2500"));
}

void TstConfig::shippedConfigParsesToTheDefaults()
{
    const std::map<QString, QStringList> defaults = valuesOf(printConfig({}));
    QVERIFY(!defaults.empty());

    // As shipped, everything is commented out but the metrics listener, which a packaged
    // service serves on loopback.
    const PrintedConfig asShipped = printConfig({QStringLiteral("--config"), kShippedConfig});
    std::map<QString, QStringList> expected = defaults;
    expected[QStringLiteral("metrics")] = {QStringLiteral("127.0.0.1:5558")};
    QCOMPARE(valuesOf(asShipped), expected);
    for (const auto& [name, settings] : asShipped) {
        for (const Setting& setting : settings) {
            QVERIFY2(setting.source == QLatin1String("default") || name == QLatin1String("metrics"),
                     qPrintable(name));
        }
    }

    // Every commented-out option uncommented, it says the defaults again: the file documents
    // the real ones. An option without a default ("#curve-key =") stays commented out.
    QFile shipped(kShippedConfig);
    QVERIFY(shipped.open(QIODevice::ReadOnly));
    static const QRegularExpression setting(QStringLiteral("^#([a-z][a-z0-9-]* = \\S.*)$"));
    QStringList uncommented;
    int settings = 0;
    for (const QString& row : QString::fromUtf8(shipped.readAll()).split(QLatin1Char('\n'))) {
        const QRegularExpressionMatch match = setting.match(row);
        settings += match.hasMatch() ? 1 : 0;
        uncommented << (match.hasMatch() ? match.captured(1) : row);
    }
    QVERIFY(settings > 10);
    const QString path = writeFile(QStringLiteral("uncommented.conf"), uncommented.join('\n'));
    const PrintedConfig all = printConfig({QStringLiteral("--config"), path});
    QCOMPARE(valuesOf(all), expected);
    QCOMPARE(all.at("max-queue").first().source.section(QLatin1Char(':'), 0, 0), path);
}

void TstConfig::shippedConfigMentionsEveryOption()
{
    // --print-config lists the options of the table; each must be documented in the shipped
    // file, so that an option added later without a line there fails here.
    const PrintedConfig defaults = printConfig({});
    QVERIFY(defaults.size() > 15);
    QFile shipped(kShippedConfig);
    QVERIFY(shipped.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(shipped.readAll());
    for (const auto& [name, settings] : defaults) {
        const QRegularExpression line(
            QStringLiteral("^#%1 =").arg(QRegularExpression::escape(name)),
            QRegularExpression::MultilineOption);
        QVERIFY2(line.match(text).hasMatch(),
                 qPrintable(QStringLiteral("resources/switchboard.conf has no line '#%1 = ...' "
                                           "(commented out, with its default)")
                                .arg(name)));
    }
    for (const char* part : {"/etc/switchboard/switchboard.conf", "SWITCHBOARD_<OPTION>",
                             "SWITCHBOARD_CONFIG", "--print-config"}) {
        QVERIFY2(text.contains(QLatin1String(part)), part);
    }
}

void TstConfig::brokerServesOnTheEndpointsOfItsFile()
{
    // Two frontends from two lines of the file: the lines accumulate. Ports are the kernel's
    // choice (tcp://127.0.0.1:*); the broker announces what it bound.
    const QString file =
        writeFile(QStringLiteral("run.conf"), QStringLiteral("no-gui = true\n"
                                                             "frontend = tcp://127.0.0.1:*\n"
                                                             "frontend = tcp://127.0.0.1:*\n"
                                                             "backend = tcp://127.0.0.1:*\n"
                                                             "admin = tcp://127.0.0.1:*\n"));
    SwitchboardProcess switchboard(kSwitchboard);
    switchboard.process().setProcessEnvironment(environment());
    switchboard.start({QStringLiteral("--config"), file});
    QVERIFY2(switchboard.waitReady(), qPrintable(switchboard.stderrText()));
    QCOMPARE(switchboard.frontends().size(), 2);
    QCOMPARE(switchboard.backends().size(), 1);
    QCOMPARE(switchboard.admins().size(), 1);

    for (const QString& frontend : switchboard.frontends()) {
        QVERIFY2(!frontend.endsWith(QLatin1String(":5555")), qPrintable(frontend));
        const Outcome services =
            run({QStringLiteral("services"), QStringLiteral("--broker"), frontend});
        QVERIFY2(services.finished && services.exitCode == 0, qPrintable(describe(services)));
        QVERIFY2(services.out.contains(QLatin1String("no services")), qPrintable(services.out));
    }
}

void TstConfig::badFileIsAUsageError()
{
    const QString file =
        writeFile(QStringLiteral("bad.conf"), QStringLiteral("no-gui = true\nmax-queue = lots\n"));
    for (const QStringList& arguments :
         {QStringList{QStringLiteral("--config"), file},
          QStringList{QStringLiteral("--print-config"), QStringLiteral("--config"), file}}) {
        const Outcome outcome = run(arguments);
        QVERIFY2(outcome.finished && outcome.exitCode == 2, qPrintable(describe(outcome)));
        QVERIFY(outcome.out.isEmpty());
        QCOMPARE(outcome.err.trimmed(),
                 QStringLiteral("switchboard: %1:2: --max-queue takes a whole number from 1 to "
                                "2147483647, not 'lots'")
                     .arg(file));
    }

    const Outcome missing = run({}, environment({{QStringLiteral("SWITCHBOARD_CONFIG"),
                                                  m_directory.filePath("missing.conf")}}));
    QVERIFY2(missing.finished && missing.exitCode == 2, qPrintable(describe(missing)));
    QVERIFY2(missing.err.contains(QLatin1String("missing.conf: cannot read the config file")),
             qPrintable(missing.err));
}

void TstConfig::misspeltVariableIsAWarning()
{
    const Outcome outcome = run(
        {QStringLiteral("--print-config")},
        environment({{QStringLiteral("SWITCHBOARD_HEARTBEAT"), QStringLiteral("100")},
                     {QStringLiteral("SWITCHBOARD_DEMO_SCREENSHOT"), QStringLiteral("x.png")}}));
    QVERIFY2(outcome.finished && outcome.exitCode == 0, qPrintable(describe(outcome)));
    QCOMPARE(outcome.err.trimmed(),
             QStringLiteral("switchboard: warning: SWITCHBOARD_HEARTBEAT is not an option's "
                            "variable and is ignored; did you mean SWITCHBOARD_HEARTBEAT_MS?"));
}

} // namespace

QTEST_GUILESS_MAIN(TstConfig)
#include "tst_config.moc"
