#pragma once

#include <switchboard/protocol/curvekey.h>

#include <QCommandLineOption>
#include <QCommandLineParser>

#include <variant>

// `--server-key FILE --key FILE`: how every command that connects to a broker (call, services,
// describe, monitor) turns CURVE on.
namespace switchboard {

class ClientKeyOptions {
public:
    // `peer` names the command's side of the connection in the texts ("client", "monitor").
    explicit ClientKeyOptions(const QString& peer);

    // Both options, in the order --help lists them.
    QList<QCommandLineOption> options() const { return {m_serverKey, m_key}; }

    // The usage error when only one of the two is given, empty otherwise.
    QString pairError(const QCommandLineParser& parser) const;

    // The credentials from the files (CURVE off when neither option is given), or
    // curve::KeyError's message when a file cannot be used.
    [[nodiscard]] std::variant<curve::ClientCredentials, QString>
    read(const QCommandLineParser& parser) const;

private:
    QString m_peer;
    QCommandLineOption m_serverKey;
    QCommandLineOption m_key;
};

} // namespace switchboard
