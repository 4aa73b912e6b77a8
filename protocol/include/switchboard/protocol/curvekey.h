#pragma once

#include <switchboard/protocol/error.h>

#include <string>
#include <string_view>

namespace zmq {
class socket_t;
}

// CURVE keys (ZeroMQ RFC 26) as broker, clients and workers read them: Z85 text, 40 characters
// for 32 bytes, in the certificate files CZMQ's zcert_save writes, so that keys made by other
// ZeroMQ tools work unchanged:
//
//   metadata
//   curve
//       public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
//       secret-key = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
//
// A ".pub" file holds the public key alone; a ".key" file both.
namespace switchboard::curve {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kZ85KeyLength = 40;

// A key pair as Z85 text. secretKey is empty when only the public half is known.
struct KeyPair {
    std::string publicKey;
    std::string secretKey;
};

// A key or key file that cannot be used. kind() says why, what() names the file and the key.
class KeyError : public Error {
public:
    enum class Kind {
        FileMissing, // no such file, or not readable
        NoKey,       // the file has no public-key (or no secret-key where one is needed)
        BadZ85,      // not Z85 text
        WrongLength, // Z85, but not 40 characters (32 bytes)
        Unsupported, // libzmq was built without CURVE
        WriteFailed, // a key file could not be written
    };
    KeyError(Kind kind, const std::string& what);
    Kind kind() const noexcept { return m_kind; }

private:
    Kind m_kind;
};

// Whether the libzmq in use supports CURVE (zmq_has("curve")).
bool isAvailable() noexcept;

// Throws KeyError (WrongLength, BadZ85) unless `key` is a 40-character Z85 key; `what` names
// the key in the message ("server public key").
void checkZ85Key(std::string_view key, std::string_view what);

// A new random key pair (zmq_curve_keypair). Throws KeyError(Unsupported).
KeyPair generateKeyPair();

// The public key that belongs to a Z85 secret key (zmq_curve_public).
std::string publicKeyOf(std::string_view secretKey);

// The key pair in a certificate file. With needSecret, a file without a secret key is an error
// (KeyError NoKey); without it, secretKey is whatever the file holds, possibly empty.
KeyPair readKeyFile(const std::string& path, bool needSecret);

// The text of a certificate in CZMQ's format: with the secret key when `withSecret`.
std::string formatCertificate(const KeyPair& keys, bool withSecret);

// What a connecting peer (client, worker, monitor) needs for CURVE: the broker's public key and
// its own key pair, Z85 text. All empty: CURVE off.
struct ClientCredentials {
    std::string serverPublicKey;
    std::string publicKey; // derived from secretKey when empty
    std::string secretKey;

    bool enabled() const noexcept { return !serverPublicKey.empty() || !secretKey.empty(); }

    // Reads the broker's .pub (or .key) file and this peer's .key file. Throws KeyError.
    static ClientCredentials fromFiles(const std::string& serverKeyFile,
                                       const std::string& ownKeyFile);

    // Makes `socket` a CURVE client, before it connects; does nothing when !enabled(). Throws
    // KeyError when a key is missing or malformed.
    void apply(zmq::socket_t& socket) const;
};

} // namespace switchboard::curve
