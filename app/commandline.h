#pragma once

#include <QCommandLineParser>
#include <QString>
#include <QStringList>
#include <QTextStream>

#include <functional>
#include <optional>
#include <variant>

// The one convention every subcommand's command line follows: a parser returns either the options
// to run with or a CommandLineExit (help, version or a usage error), and main() prints an exit in
// one place (runOrExit).
namespace switchboard {

inline constexpr int kUsageError = 2;

// How a command line ends without running anything: help or version on stdout with exit code 0,
// or one line on stderr with exit code 2.
struct CommandLineExit {
    int exitCode = 0;
    QString output; // for stdout, as it is
    QString error;  // one line for stderr, without its line end

    // Prints both texts and returns the exit code.
    int print(QTextStream& out, QTextStream& err) const;
};

// What a subcommand's parser returns.
template <typename Options>
using CommandLine = std::variant<Options, CommandLineExit>;

// Prints the exit, or runs `run` with the options; returns the process exit code.
template <typename Options, typename Run>
int runOrExit(const CommandLine<Options>& commandLine, QTextStream& out, QTextStream& err, Run run)
{
    if (const auto* exit = std::get_if<CommandLineExit>(&commandLine)) {
        return exit->print(out, err);
    }
    return run(std::get<Options>(commandLine));
}

// A QCommandLineParser that starts with -h/--help and words a subcommand's messages the same way
// every time: "SPEAKER: what is wrong (see HELPCOMMAND --help)".
class CommandParser : public QCommandLineParser {
public:
    // `speaker` starts every message ("switchboard", "switchboard monitor"); `helpCommand` is
    // the command whose --help a usage error points to ("switchboard", "switchboard call").
    CommandParser(QString speaker, QString helpCommand, const QString& description);

    // Parses `arguments`: stops with QCommandLineParser's complaint as a usage error (without its
    // full stop), or with `helpText()` on stdout when -h/--help is given.
    [[nodiscard]] std::optional<CommandLineExit>
    parseOrExit(const QStringList& arguments, const std::function<QString()>& helpText);

    // Exit code 2 and "SPEAKER: message (see HELPCOMMAND --help)".
    CommandLineExit usageError(const QString& message) const;
    // Exit code 2 and "SPEAKER: message": what is wrong is not how the command was typed.
    CommandLineExit failure(const QString& message) const;

    // The same for `switchboard SUBCOMMAND ...`: parses the arguments after SUBCOMMAND, and
    // --help shows "Usage: PROGRAM SUBCOMMAND [options]", the options and `helpTail`.
    [[nodiscard]] std::optional<CommandLineExit> parseSubcommandOrExit(const QStringList& arguments,
                                                                       const QString& subcommand,
                                                                       const QString& helpTail);

private:
    QString m_speaker;
    QString m_helpCommand;
    QCommandLineOption m_help;
};

// "--NAME takes a whole number from MIN to MAX, not 'TEXT'" unless the option's value is one.
[[nodiscard]] std::variant<qint64, QString> wholeNumber(const QCommandLineParser& parser,
                                                        const QCommandLineOption& option,
                                                        qint64 minimum, qint64 maximum);

// `message` when exactly one of the two options (by name) is given, empty when both or neither are.
QString goTogether(const QCommandLineParser& parser, const QString& first, const QString& second,
                   const QString& message);

} // namespace switchboard
