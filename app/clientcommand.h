#pragma once

#include <QStringList>
#include <QTextStream>

// `switchboard call | services | describe ...`: the executable as a client of a running broker,
// so an operator can poke a service without writing a program.
namespace switchboard {

// Whether the command line names a client subcommand rather than the broker's options.
bool isClientCommand(const QStringList& arguments);

// Runs the subcommand and returns the process exit code: 0 success, 1 the worker (or broker)
// answered with an error, 2 usage error, 3 no answer (timeout, no worker, broker unreachable).
int runClientCommand(const QStringList& arguments, QTextStream& out, QTextStream& err);

} // namespace switchboard
