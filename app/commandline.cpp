#include "commandline.h"

#include <utility>

namespace switchboard {

int CommandLineExit::print(QTextStream& out, QTextStream& err) const
{
    out << output;
    out.flush();
    if (!error.isEmpty()) {
        err << error << Qt::endl;
    }
    return exitCode;
}

CommandParser::CommandParser(QString speaker, QString helpCommand, const QString& description)
    : m_speaker(std::move(speaker))
    , m_helpCommand(std::move(helpCommand))
    , m_help({QStringLiteral("h"), QStringLiteral("help")},
             QStringLiteral("Show this help and exit."))
{
    setApplicationDescription(description);
    addOption(m_help);
}

std::optional<CommandLineExit> CommandParser::parseOrExit(const QStringList& arguments,
                                                          const std::function<QString()>& helpText)
{
    if (!parse(arguments)) {
        QString text = errorText();
        if (text.endsWith(QLatin1Char('.'))) {
            text.chop(1);
        }
        return usageError(text);
    }
    if (isSet(m_help)) {
        return CommandLineExit{0, helpText(), {}};
    }
    return std::nullopt;
}

CommandLineExit CommandParser::usageError(const QString& message) const
{
    return failure(QStringLiteral("%1 (see %2 --help)").arg(message, m_helpCommand));
}

CommandLineExit CommandParser::failure(const QString& message) const
{
    return {kUsageError, {}, QStringLiteral("%1: %2").arg(m_speaker, message)};
}

std::optional<CommandLineExit> CommandParser::parseSubcommandOrExit(const QStringList& arguments,
                                                                    const QString& subcommand,
                                                                    const QString& helpTail)
{
    QStringList rest = arguments;
    rest.removeAt(1); // the subcommand
    return parseOrExit(rest, [&] {
        return helpText().replace(QStringLiteral("[options]"),
                                  QStringLiteral("%1 [options]").arg(subcommand)) +
               helpTail;
    });
}

std::variant<qint64, QString> wholeNumber(const QCommandLineParser& parser,
                                          const QCommandLineOption& option, qint64 minimum,
                                          qint64 maximum)
{
    bool ok = false;
    const QString text = parser.value(option);
    const qint64 value = text.toLongLong(&ok);
    if (!ok || value < minimum || value > maximum) {
        return QStringLiteral("--%1 takes a whole number from %2 to %3, not '%4'")
            .arg(option.names().first())
            .arg(minimum)
            .arg(maximum)
            .arg(text);
    }
    return value;
}

QString goTogether(const QCommandLineParser& parser, const QString& first, const QString& second,
                   const QString& message)
{
    return parser.isSet(first) == parser.isSet(second) ? QString() : message;
}

} // namespace switchboard
