#pragma once

#include <QStringList>
#include <QTextStream>

// `switchboard keygen NAME`: a CURVE key pair for a broker, client or worker (docs/SECURITY.md).
namespace switchboard {

bool isKeygenCommand(const QStringList& arguments);

// Writes NAME.key (both keys, mode 0600) and NAME.pub (the public key), in CZMQ's certificate
// format. Returns 0, 1 when a file cannot be written or already exists (without --force), or 2
// for a usage error.
int runKeygenCommand(const QStringList& arguments, QTextStream& out, QTextStream& err);

} // namespace switchboard
