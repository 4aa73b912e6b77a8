#include "configsources.h"

#include <QList>
#include <QRegularExpression>

#include <algorithm>
#include <map>
#include <numeric>
#include <utility>

namespace switchboard {

namespace {

const QString kPrefix = QStringLiteral("SWITCHBOARD_");

// The command-line options that select or print the configuration itself, never part of it.
const QStringList kNotInFile{QStringLiteral("config"), QStringLiteral("print-config"),
                             QStringLiteral("help"), QStringLiteral("version")};

// Levenshtein distance: how many letters to insert, delete or replace to turn `a` into `b`.
qsizetype editDistance(const QString& a, const QString& b)
{
    QList<qsizetype> row(b.size() + 1);
    std::iota(row.begin(), row.end(), qsizetype{0});
    for (qsizetype i = 1; i <= a.size(); ++i) {
        qsizetype diagonal = row[0];
        row[0] = i;
        for (qsizetype j = 1; j <= b.size(); ++j) {
            const qsizetype above = row[j];
            row[j] =
                std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row.back();
}

QString switchError(const QString& where, const QString& option, const QString& value)
{
    return QStringLiteral("%1: %2 is a switch: it takes true or false (also yes/no, on/off, "
                          "1/0), not '%3'")
        .arg(where, option, value);
}

} // namespace

ConfigSources::ConfigSources(std::vector<ConfigOption> options)
    : m_options(std::move(options))
    , m_resolved(m_options.size())
{}

QString ConfigSources::addFile(const ConfigFile& file)
{
    std::vector<Resolved> fromFile(m_options.size());
    std::vector<int> firstLine(m_options.size(), 0);
    for (const ConfigLine& line : file.lines()) {
        const QString where = file.location(line.line);
        if (kNotInFile.contains(line.option)) {
            return QStringLiteral("%1: '%2' cannot be set in a config file, only on the command "
                                  "line (--%2)")
                .arg(where, line.option);
        }
        const std::size_t index = find(line.option);
        if (index == m_options.size()) {
            const std::size_t near = nearest(line.option);
            return QStringLiteral("%1: unknown option '%2'%3 (switchboard --help lists them)")
                .arg(where, line.option,
                     near == m_options.size()
                         ? QString()
                         : QStringLiteral("; did you mean '%1'?").arg(m_options[near].name));
        }
        const ConfigOption& option = m_options[index];
        Resolved& resolved = fromFile[index];
        if (!option.repeatable && !resolved.values.isEmpty()) {
            return QStringLiteral("%1: '%2' is given a second time (first on line %3); keep one "
                                  "of the two lines (only %4 may be repeated)")
                .arg(where, option.name, QString::number(firstLine[index]), repeatableNames());
        }
        if (resolved.values.isEmpty()) {
            firstLine[index] = line.line;
        }
        QString value = line.value;
        if (!option.takesValue) {
            const std::optional<bool> on = switchValue(value);
            if (!on) {
                return switchError(where, option.name, value);
            }
            value = *on ? QStringLiteral("true") : QStringLiteral("false");
        } else if (value.isEmpty()) {
            return QStringLiteral("%1: '%2' has no value; give one, or comment the line out for "
                                  "the default")
                .arg(where, option.name);
        }
        resolved.source = Source::File;
        resolved.values << value;
        resolved.where << where;
    }
    for (std::size_t index = 0; index < m_options.size(); ++index) {
        if (fromFile[index].source == Source::File) {
            m_resolved[index] = std::move(fromFile[index]);
        }
    }
    return {};
}

QString ConfigSources::addEnvironment(const QProcessEnvironment& environment, QStringList& warnings)
{
    static const QRegularExpression separators(QStringLiteral("[\\s,]+"));
    for (std::size_t index = 0; index < m_options.size(); ++index) {
        const ConfigOption& option = m_options[index];
        const QString variable = variableName(option.name);
        if (!environment.contains(variable)) {
            continue;
        }
        const QString text = environment.value(variable).trimmed();
        Resolved resolved{Source::Environment, {}, {variable}};
        if (!option.takesValue) {
            const std::optional<bool> on = switchValue(text);
            if (!on) {
                return switchError(variable, option.name, text);
            }
            resolved.values << (*on ? QStringLiteral("true") : QStringLiteral("false"));
        } else if (option.repeatable) {
            resolved.values = text.split(separators, Qt::SkipEmptyParts);
        } else if (!text.isEmpty()) {
            resolved.values << text;
        }
        if (resolved.values.isEmpty()) {
            return QStringLiteral("%1 is empty; give it a value%2, or unset it for the default")
                .arg(variable, option.repeatable ? QStringLiteral(" (several: separated by "
                                                                  "spaces or commas)")
                                                 : QString());
        }
        m_resolved[index] = std::move(resolved);
    }

    // Other programs and the tests have SWITCHBOARD_* variables of their own
    // (SWITCHBOARD_DEMO_SCREENSHOT), so only a near miss of an option's name is worth a word.
    QStringList keys = environment.keys();
    keys.sort();
    for (const QString& variable : std::as_const(keys)) {
        if (!variable.startsWith(kPrefix) || variable == variableName(QStringLiteral("config"))) {
            continue;
        }
        const QString name =
            variable.mid(kPrefix.size()).toLower().replace(QLatin1Char('_'), QLatin1Char('-'));
        if (find(name) < m_options.size() && variable == variableName(name)) {
            continue;
        }
        const std::size_t near = nearest(name);
        if (near < m_options.size()) {
            warnings << QStringLiteral("%1 is not an option's variable and is ignored; did you "
                                       "mean %2?")
                            .arg(variable, variableName(m_options[near].name));
        }
    }
    return {};
}

void ConfigSources::addCommandLine(const QCommandLineParser& parser)
{
    const QString where = QStringLiteral("command line");
    for (std::size_t index = 0; index < m_options.size(); ++index) {
        const ConfigOption& option = m_options[index];
        if (!parser.isSet(option.name)) {
            continue;
        }
        Resolved resolved{Source::CommandLine, {}, {where}};
        if (!option.takesValue) {
            resolved.values << QStringLiteral("true");
        } else if (option.repeatable) {
            resolved.values = parser.values(option.name);
        } else {
            resolved.values << parser.value(option.name);
        }
        m_resolved[index] = std::move(resolved);
    }
}

QStringList ConfigSources::arguments(const QString& program) const
{
    QStringList arguments{program};
    for (std::size_t index = 0; index < m_options.size(); ++index) {
        const Resolved& resolved = m_resolved[index];
        if (resolved.source == Source::Default) {
            continue;
        }
        const QString flag = QStringLiteral("--") + m_options[index].name;
        if (!m_options[index].takesValue) {
            if (resolved.values.value(0) == QLatin1String("true")) {
                arguments << flag;
            }
            continue;
        }
        // "--name=value" keeps a value that starts with '-' a value.
        for (const QString& value : resolved.values) {
            arguments << flag + QLatin1Char('=') + value;
        }
    }
    return arguments;
}

QString ConfigSources::where(std::size_t option, qsizetype index) const
{
    const QStringList& where = m_resolved[option].where;
    if (where.isEmpty()) {
        return QStringLiteral("default");
    }
    return where[std::clamp<qsizetype>(index, 0, where.size() - 1)];
}

QString ConfigSources::configText(const std::vector<QStringList>& effective) const
{
    constexpr qsizetype kCommentColumn = 40;
    QString text = QStringLiteral(
        "# The effective configuration of switchboard (--print-config), each value followed by "
        "where\n# it came from. Saved as a file, it is a config file: switchboard --config "
        "FILE.\n");
    const auto add = [&text](QString line, const QString& where) {
        text += line.leftJustified(kCommentColumn - 1) + QStringLiteral(" # ") + where +
                QLatin1Char('\n');
    };
    for (std::size_t index = 0; index < m_options.size(); ++index) {
        const QString& name = m_options[index].name;
        const QStringList& values = effective[index];
        if (values.isEmpty() || (values.size() == 1 && values.first().isEmpty())) {
            add(QStringLiteral("#%1 =").arg(name), where(index) + QStringLiteral(": not set"));
            continue;
        }
        for (qsizetype value = 0; value < values.size(); ++value) {
            add(QStringLiteral("%1 = %2").arg(name, values[value]), where(index, value));
        }
    }
    return text;
}

QString ConfigSources::variableName(const QString& option)
{
    return kPrefix + option.toUpper().replace(QLatin1Char('-'), QLatin1Char('_'));
}

std::optional<bool> ConfigSources::switchValue(const QString& text)
{
    static const std::map<QString, bool> kWords{
        {QStringLiteral("true"), true}, {QStringLiteral("false"), false},
        {QStringLiteral("yes"), true},  {QStringLiteral("no"), false},
        {QStringLiteral("on"), true},   {QStringLiteral("off"), false},
        {QStringLiteral("1"), true},    {QStringLiteral("0"), false},
    };
    const auto word = kWords.find(text.trimmed().toLower());
    if (word == kWords.end()) {
        return std::nullopt;
    }
    return word->second;
}

QString ConfigSources::repeatableNames() const
{
    QStringList names;
    for (const ConfigOption& option : m_options) {
        if (option.repeatable) {
            names << option.name;
        }
    }
    return names.join(QStringLiteral(", "));
}

std::size_t ConfigSources::find(const QString& name) const
{
    const auto found =
        std::find_if(m_options.begin(), m_options.end(),
                     [&name](const ConfigOption& option) { return option.name == name; });
    return static_cast<std::size_t>(found - m_options.begin());
}

std::size_t ConfigSources::nearest(const QString& name) const
{
    // A typo or two, scaled down for short names: "liveliness" is "liveness", "pythn" is nothing.
    const qsizetype tolerance = std::clamp<qsizetype>(name.size() / 3, 1, 3);
    std::size_t best = m_options.size();
    qsizetype bestDistance = tolerance + 1;
    for (std::size_t index = 0; index < m_options.size(); ++index) {
        const qsizetype distance = editDistance(name.toLower(), m_options[index].name);
        if (distance < bestDistance) {
            best = index;
            bestDistance = distance;
        }
    }
    return best;
}

} // namespace switchboard
