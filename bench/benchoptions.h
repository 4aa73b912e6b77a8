#pragma once

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QString>

#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace switchboard::bench {

// One line on stderr naming the program, then exit code 2, as every bench program does for a
// bad command line.
[[noreturn]] inline void usageError(const QString& message)
{
    std::fprintf(stderr, "%s: %s (see --help)\n", qPrintable(QCoreApplication::applicationName()),
                 qPrintable(message));
    std::exit(2);
}

// The option's value as a positive integer, `fallback` when it is not given.
inline std::size_t positiveOption(const QCommandLineParser& parser,
                                  const QCommandLineOption& option, std::size_t fallback)
{
    if (!parser.isSet(option)) {
        return fallback;
    }
    bool ok = false;
    const qulonglong value = parser.value(option).toULongLong(&ok);
    if (!ok || value == 0) {
        usageError(
            QStringLiteral("--%1 takes a positive integer").arg(option.names().constFirst()));
    }
    return static_cast<std::size_t>(value);
}

} // namespace switchboard::bench
