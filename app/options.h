#pragma once

#include "commandline.h"

#include <switchboard/broker/brokerconfig.h>

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

// The options to run the broker with, or the exit after --help, --version or a usage error.
CommandLine<Options> parseCommandLine(const QStringList& arguments);

} // namespace switchboard
