#pragma once

#include "commandline.h"

#include <switchboard/protocol/curvekey.h>

#include <QString>
#include <QStringList>

#include <chrono>

// `switchboard monitor [--attach EP]...`: the monitor window alone, attached through their admin
// endpoints to one or several brokers that run elsewhere (usually headless).
namespace switchboard {

struct MonitorOptions {
    QStringList endpoints{QStringLiteral("tcp://127.0.0.1:5557")}; // one window for all
    std::chrono::milliseconds pollInterval{500};
    curve::ClientCredentials curve; // --server-key and --key
};

bool isMonitorCommand(const QStringList& arguments);

// The options to open the window with, or the exit after --help or a usage error.
CommandLine<MonitorOptions> parseMonitorCommandLine(const QStringList& arguments);

} // namespace switchboard
