#pragma once

#include "commandline.h"

#include <QStringList>
#include <QTextStream>

// `switchboard keygen NAME`: a CURVE key pair for a broker, client or worker (docs/SECURITY.md).
namespace switchboard {

struct KeygenOptions {
    QString name;       // path and name of the files, without extension
    bool force = false; // overwrite existing files
};

bool isKeygenCommand(const QStringList& arguments);

// The files to write, or the exit after --help or a usage error.
CommandLine<KeygenOptions> parseKeygenCommandLine(const QStringList& arguments);

// Writes NAME.key (both keys, mode 0600) and NAME.pub (the public key), in CZMQ's certificate
// format. Returns 0, or 1 when a file cannot be written or already exists (without --force).
int runKeygenCommand(const KeygenOptions& options, QTextStream& out, QTextStream& err);

} // namespace switchboard
