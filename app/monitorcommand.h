#pragma once

#include <switchboard/protocol/curvekey.h>

#include <QString>
#include <QStringList>

#include <chrono>
#include <optional>

// `switchboard monitor [--attach EP]`: the monitor window alone, attached to a broker that runs
// elsewhere (usually headless) through its admin endpoint.
namespace switchboard {

struct MonitorOptions {
    QString endpoint = QStringLiteral("tcp://127.0.0.1:5557");
    std::chrono::milliseconds pollInterval{500};
    curve::ClientCredentials curve; // --server-key and --key
};

struct MonitorCommandLine {
    std::optional<MonitorOptions> options; // set when the window should open
    int exitCode = 0;                      // otherwise: 0 after --help, 2 on a usage error
    QString output;
    QString error;
};

bool isMonitorCommand(const QStringList& arguments);

MonitorCommandLine parseMonitorCommandLine(const QStringList& arguments);

} // namespace switchboard
