#include "keygencommand.h"

#include <switchboard/protocol/curvekey.h>

#include <QFileInfo>
#include <QSaveFile>

namespace switchboard {

namespace {

constexpr int kWriteFailed = 1;

// Written whole or not at all (QSaveFile renames into place), with the permissions set before
// the secret is in it.
bool writeFile(const QString& path, const std::string& text, QFileDevice::Permissions permissions,
               QString& error)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !file.setPermissions(permissions) ||
        file.write(text.data(), static_cast<qint64>(text.size())) !=
            static_cast<qint64>(text.size()) ||
        !file.commit()) {
        error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace

bool isKeygenCommand(const QStringList& arguments)
{
    return arguments.size() > 1 && arguments.at(1) == QLatin1String("keygen");
}

CommandLine<KeygenOptions> parseKeygenCommandLine(const QStringList& arguments)
{
    CommandParser parser(
        QStringLiteral("switchboard keygen"), QStringLiteral("switchboard keygen"),
        QStringLiteral(
            "Makes a CURVE key pair for a broker, a client or a worker: NAME.key holds both "
            "keys (readable by its owner only: keep it secret), NAME.pub the public key alone, "
            "to hand to the other side. Both are in ZeroMQ's certificate format (CZMQ zcert), "
            "so keys of other ZeroMQ tools work too. See docs/SECURITY.md."));
    const QCommandLineOption force(
        QStringLiteral("force"), QStringLiteral("Overwrite NAME.key and NAME.pub if they exist."));
    parser.addOption(force);
    parser.addPositionalArgument(QStringLiteral("NAME"),
                                 QStringLiteral("Path and name of the files, without extension."));
    const QString helpTail =
        QStringLiteral("\nExamples:\n"
                       "  switchboard keygen broker\n"
                       "      Writes broker.key and broker.pub here.\n"
                       "  switchboard keygen /etc/switchboard/authorized/clients/billing\n"
                       "      A client's key pair, its .pub already where the broker "
                       "looks.\n"
                       "\nExit codes: 0 done, 1 a file exists (without --force) or "
                       "cannot be written, 2 usage error.\n");
    if (auto exit = parser.parseSubcommandOrExit(arguments, QStringLiteral("keygen"), helpTail)) {
        return *exit;
    }
    const QStringList names = parser.positionalArguments();
    if (names.size() != 1) {
        return parser.usageError(
            names.isEmpty() ? QStringLiteral("keygen takes the NAME of the key files")
                            : QStringLiteral("keygen takes one NAME, got %1").arg(names.size()));
    }
    const QString name = names.first();
    if (name.isEmpty() || name.endsWith(QLatin1Char('/'))) {
        return parser.usageError(QStringLiteral("'%1' is not a file name").arg(name));
    }
    return KeygenOptions{name, parser.isSet(force)};
}

int runKeygenCommand(const KeygenOptions& options, QTextStream& out, QTextStream& err)
{
    const QString& name = options.name;
    const QString secretPath = name + QLatin1String(".key");
    const QString publicPath = name + QLatin1String(".pub");
    if (!options.force) {
        for (const QString& path : {secretPath, publicPath}) {
            if (QFileInfo::exists(path)) {
                err << "switchboard keygen: " << path
                    << " exists; not overwritten (--force replaces it, and every peer that "
                       "trusts the old key must get the new .pub)"
                    << Qt::endl;
                return kWriteFailed;
            }
        }
    }
    curve::KeyPair keys;
    try {
        keys = curve::generateKeyPair();
    } catch (const curve::KeyError& error) {
        err << "switchboard keygen: " << error.what() << Qt::endl;
        return kWriteFailed;
    }
    QString error;
    const auto ownerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
    const auto everyone = ownerOnly | QFileDevice::ReadGroup | QFileDevice::ReadOther;
    if (!writeFile(secretPath, curve::formatCertificate(keys, true), ownerOnly, error) ||
        !writeFile(publicPath, curve::formatCertificate(keys, false), everyone, error)) {
        err << "switchboard keygen: " << error << Qt::endl;
        return kWriteFailed;
    }
    out << "wrote " << secretPath << " (secret, mode 0600) and " << publicPath << " (public key "
        << QString::fromStdString(keys.publicKey) << ")" << Qt::endl;
    return 0;
}

} // namespace switchboard
