#pragma once

#include "commandline.h"

#include <switchboard/broker/brokerconfig.h>

#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

namespace switchboard {

// What the broker's command line asks for (`switchboard [--no-gui] [options]`).
struct Options {
    BrokerConfig broker;
    QString logLevel = QStringLiteral("info");
    bool noGui = false;
    bool demo = false; // built-in demo workers and clients
};

// The options to run the broker with, or the exit after --help, --version, --print-config or a
// usage error. The options come from the command line, the SWITCHBOARD_<OPTION> variables of the
// process and the config file (--config or SWITCHBOARD_CONFIG), in that order of precedence;
// warnings about the variables are printed on stderr.
CommandLine<Options> parseCommandLine(const QStringList& arguments);
// The same with the variables of `environment`; `warnings` gets one line per variable that looks
// like a misspelt option's.
CommandLine<Options> parseCommandLine(const QStringList& arguments,
                                      const QProcessEnvironment& environment,
                                      QStringList& warnings);

} // namespace switchboard
