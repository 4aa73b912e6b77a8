#include <switchboard/protocol/curvekey.h>

#include <zmq.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace switchboard::curve {

namespace {

std::string_view trimmed(std::string_view text) noexcept
{
    const auto begin = text.find_first_not_of(" \t\r");
    if (begin == std::string_view::npos) {
        return {};
    }
    const auto end = text.find_last_not_of(" \t\r");
    return text.substr(begin, end - begin + 1);
}

// A ZPL value: quoted with " or ', or bare up to a comment.
std::string_view unquoted(std::string_view value) noexcept
{
    value = trimmed(value);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
        const auto close = value.find(value.front(), 1);
        if (close != std::string_view::npos) {
            return value.substr(1, close - 1);
        }
    }
    const auto comment = value.find('#');
    return trimmed(value.substr(0, comment));
}

} // namespace

KeyError::KeyError(Kind kind, const std::string& what)
    : Error(what)
    , m_kind(kind)
{}

bool isAvailable() noexcept
{
    return zmq_has("curve") != 0;
}

void checkZ85Key(std::string_view key, std::string_view what)
{
    if (key.size() != kZ85KeyLength) {
        throw KeyError(KeyError::Kind::WrongLength,
                       std::string(what) + ": expected " + std::to_string(kZ85KeyLength) +
                           " Z85 characters (32 bytes), got " + std::to_string(key.size()));
    }
    const std::string text(key);
    std::array<std::uint8_t, kKeyBytes> bytes{};
    if (zmq_z85_decode(bytes.data(), text.c_str()) == nullptr) {
        throw KeyError(KeyError::Kind::BadZ85, std::string(what) + ": not Z85 text");
    }
}

KeyPair generateKeyPair()
{
    std::array<char, kZ85KeyLength + 1> publicKey{};
    std::array<char, kZ85KeyLength + 1> secretKey{};
    if (!isAvailable() || zmq_curve_keypair(publicKey.data(), secretKey.data()) != 0) {
        throw KeyError(KeyError::Kind::Unsupported, "this libzmq was built without CURVE");
    }
    return {publicKey.data(), secretKey.data()};
}

std::string publicKeyOf(std::string_view secretKey)
{
    checkZ85Key(secretKey, "secret key");
    std::array<char, kZ85KeyLength + 1> publicKey{};
    const std::string secret(secretKey);
    if (zmq_curve_public(publicKey.data(), secret.c_str()) != 0) {
        throw KeyError(KeyError::Kind::Unsupported, "this libzmq was built without CURVE");
    }
    return publicKey.data();
}

KeyPair readKeyFile(const std::string& path, bool needSecret)
{
    std::ifstream file(path);
    if (!file) {
        throw KeyError(KeyError::Kind::FileMissing,
                       "key file " + path + ": " + std::strerror(errno));
    }
    // ZPL (ZeroMQ RFC 4): a line without indentation opens a section, indented "name = value"
    // lines belong to it. Only the keys in "curve" count.
    KeyPair keys;
    std::string section;
    std::string line;
    while (std::getline(file, line)) {
        const std::string_view text = trimmed(line);
        if (text.empty() || text.front() == '#') {
            continue;
        }
        if (line.front() != ' ' && line.front() != '\t') {
            section = std::string(text);
            continue;
        }
        const auto equals = text.find('=');
        if (section != "curve" || equals == std::string_view::npos) {
            continue;
        }
        const std::string_view name = trimmed(text.substr(0, equals));
        const std::string_view value = unquoted(text.substr(equals + 1));
        if (name == "public-key") {
            keys.publicKey = value;
        } else if (name == "secret-key") {
            keys.secretKey = value;
        }
    }
    if (keys.publicKey.empty()) {
        throw KeyError(KeyError::Kind::NoKey,
                       "key file " + path + ": no public-key in a \"curve\" section");
    }
    checkZ85Key(keys.publicKey, "key file " + path + ": public-key");
    if (needSecret && keys.secretKey.empty()) {
        throw KeyError(KeyError::Kind::NoKey,
                       "key file " + path +
                           ": no secret-key (a .pub file? the .key file of the pair is needed)");
    }
    if (!keys.secretKey.empty()) {
        checkZ85Key(keys.secretKey, "key file " + path + ": secret-key");
    }
    return keys;
}

std::string formatCertificate(const KeyPair& keys, bool withSecret)
{
    std::array<char, 32> date{};
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    (void)std::strftime(date.data(), date.size(), "%Y-%m-%d %H:%M:%S", &utc);
    std::ostringstream out;
    out << "#   ****  Generated on " << date.data() << " UTC by switchboard keygen  ****\n";
    if (withSecret) {
        out << "#   ZeroMQ CURVE **Secret** Certificate\n"
               "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n";
    } else {
        out << "#   ZeroMQ CURVE Public Certificate\n"
               "#   Exchange securely, or use a secure mechanism to verify the contents\n"
               "#   of this file after exchange. Store public certificates in your home\n"
               "#   directory, in the .curve subdirectory.\n";
    }
    out << "\nmetadata\ncurve\n    public-key = \"" << keys.publicKey << "\"\n";
    if (withSecret) {
        out << "    secret-key = \"" << keys.secretKey << "\"\n";
    }
    return out.str();
}

ClientCredentials ClientCredentials::fromFiles(const std::string& serverKeyFile,
                                               const std::string& ownKeyFile)
{
    const KeyPair own = readKeyFile(ownKeyFile, true);
    return {readKeyFile(serverKeyFile, false).publicKey, own.publicKey, own.secretKey};
}

void ClientCredentials::apply(zmq::socket_t& socket) const
{
    if (!enabled()) {
        return;
    }
    if (!isAvailable()) {
        throw KeyError(KeyError::Kind::Unsupported, "this libzmq was built without CURVE");
    }
    if (serverPublicKey.empty()) {
        throw KeyError(KeyError::Kind::NoKey, "CURVE needs the broker's public key too");
    }
    if (secretKey.empty()) {
        throw KeyError(KeyError::Kind::NoKey, "CURVE needs this peer's own key pair too");
    }
    checkZ85Key(serverPublicKey, "broker public key");
    checkZ85Key(secretKey, "own secret key");
    const std::string ownPublic = publicKey.empty() ? publicKeyOf(secretKey) : publicKey;
    checkZ85Key(ownPublic, "own public key");
    socket.set(zmq::sockopt::curve_serverkey, serverPublicKey);
    socket.set(zmq::sockopt::curve_publickey, ownPublic);
    socket.set(zmq::sockopt::curve_secretkey, secretKey);
}

} // namespace switchboard::curve
