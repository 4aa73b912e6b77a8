#pragma once

#include <switchboard/broker/brokerconfig.h>

#include <QString>
#include <QStringList>

#include <optional>

namespace switchboard {

// What the command line asked for, or why it could not be understood.
struct Options {
    BrokerConfig broker;
    QString logLevel = QStringLiteral("info");
    bool noGui = false;
    bool demo = false; // built-in demo workers and clients
};

struct CommandLine {
    std::optional<Options> options; // set when the program should run
    int exitCode = 0;               // otherwise: 0 after --help/--version, 2 on a usage error
    QString output;                 // printed on stdout (help, version)
    QString error;                  // one line for stderr
};

CommandLine parseCommandLine(const QStringList& arguments);

} // namespace switchboard
