#include "clientkeyoptions.h"

#include "commandline.h"

namespace switchboard {

ClientKeyOptions::ClientKeyOptions(const QString& peer)
    : m_peer(peer)
    , m_serverKey(QStringLiteral("server-key"),
                  QStringLiteral("With CURVE: the broker's public key file (its .pub)."),
                  QStringLiteral("file"))
    , m_key(QStringLiteral("key"),
            QStringLiteral("With CURVE: this %1's key pair (a .key from switchboard keygen).")
                .arg(peer),
            QStringLiteral("file"))
{}

QString ClientKeyOptions::pairError(const QCommandLineParser& parser) const
{
    return goTogether(parser, m_serverKey.names().first(), m_key.names().first(),
                      QStringLiteral("--server-key and --key go together: CURVE needs the "
                                     "broker's public key and this %1's key pair")
                          .arg(m_peer));
}

std::variant<curve::ClientCredentials, QString>
ClientKeyOptions::read(const QCommandLineParser& parser) const
{
    if (!parser.isSet(m_serverKey)) {
        return curve::ClientCredentials{};
    }
    try {
        return curve::ClientCredentials::fromFiles(parser.value(m_serverKey).toStdString(),
                                                   parser.value(m_key).toStdString());
    } catch (const curve::KeyError& error) {
        return QString::fromUtf8(error.what());
    }
}

} // namespace switchboard
