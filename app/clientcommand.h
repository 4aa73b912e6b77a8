#pragma once

#include "commandline.h"

#include <switchboard/protocol/curvekey.h>

#include <QStringList>
#include <QTextStream>

// `switchboard call | services | describe ...`: the executable as a client of a running broker,
// so an operator can poke a service without writing a program.
namespace switchboard {

struct ClientCommandOptions {
    enum class Command { Call, Services, Describe };
    Command command = Command::Call;
    QStringList endpoints; // --broker, as given (a host name may stand for several brokers)
    int timeoutMs = 0;
    curve::ClientCredentials curve; // --server-key and --key
    bool compact = false;           // call --compact
    bool json = false;              // services/describe --json
    QStringList arguments;          // call: SERVICE METHOD ARG...; describe: SERVICE
};

// Whether the command line names a client subcommand rather than the broker's options.
bool isClientCommand(const QStringList& arguments);

// What to ask the broker, or the exit after --help or a usage error.
CommandLine<ClientCommandOptions> parseClientCommandLine(const QStringList& arguments);

// Runs the subcommand and returns the process exit code: 0 success, 1 the worker (or broker)
// answered with an error, 2 the endpoint or a key is unusable, 3 no answer (timeout, no worker,
// broker unreachable; for services: any broker that did not answer, the others still listed).
int runClientCommand(const ClientCommandOptions& options, QTextStream& out, QTextStream& err);

} // namespace switchboard
