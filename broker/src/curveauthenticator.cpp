#include "curveauthenticator.h"

#include "logging.h"

#include <switchboard/monitoring/peername.h>

#include <QDir>
#include <QFileInfo>

#include <zmq.h>

namespace switchboard {

namespace {

using namespace std::chrono_literals;

// The endpoint RFC 27 fixes: libzmq sends every ZAP request of a context there.
constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
// Editors write a file in several steps; one reload after they are done.
constexpr auto kReloadDelay = 200ms;

constexpr std::array<const char*, 3> kSubdirectories{"clients", "workers", "admin"};
constexpr std::array<std::string_view, 3> kDomains{"switchboard.clients", "switchboard.workers",
                                                   "switchboard.admin"};

std::string z85Of(std::string_view binary)
{
    std::array<char, curve::kZ85KeyLength + 1> text{};
    if (binary.size() != curve::kKeyBytes ||
        zmq_z85_encode(text.data(), reinterpret_cast<const std::uint8_t*>(binary.data()),
                       binary.size()) == nullptr) {
        return "(not a key)";
    }
    return text.data();
}

std::string binaryOf(const std::string& z85)
{
    std::string binary(curve::kKeyBytes, '\0');
    (void)zmq_z85_decode(reinterpret_cast<std::uint8_t*>(binary.data()), z85.c_str());
    return binary;
}

// The public keys of the certificate files directly in `directory`. A file that does not
// parse is skipped with a warning: a stray file must not lock everyone out on a reload.
std::set<std::string> readKeys(const QString& directory)
{
    std::set<std::string> keys;
    const QDir dir(directory);
    const auto files = dir.entryInfoList(QDir::Files | QDir::Readable, QDir::Name);
    for (const QFileInfo& file : files) {
        try {
            const curve::KeyPair pair =
                curve::readKeyFile(file.absoluteFilePath().toStdString(), false);
            if (!pair.secretKey.empty()) {
                qCWarning(lcBroker).noquote()
                    << "authorized key" << file.absoluteFilePath()
                    << "holds a secret key: only the .pub file belongs here";
            }
            keys.insert(binaryOf(pair.publicKey));
        } catch (const curve::KeyError& error) {
            qCWarning(lcBroker).noquote() << "ignoring authorized key:" << error.what();
        }
    }
    return keys;
}

} // namespace

CurveAuthenticator::CurveAuthenticator(zmq::context_t& context, const QString& keyFile,
                                       const QString& authorizedDirectory, QObject* parent)
    : QObject(parent)
    , m_context(context)
    , m_serverKeys(curve::readKeyFile(keyFile.toStdString(), true))
    , m_directory(authorizedDirectory)
{
    if (!curve::isAvailable()) {
        throw curve::KeyError(curve::KeyError::Kind::Unsupported,
                              "this libzmq was built without CURVE");
    }
    if (!QFileInfo(m_directory).isDir()) {
        throw Error("authorized keys directory " + m_directory.toStdString() +
                    ": no such directory");
    }
    m_reloadSoon.setSingleShot(true);
    m_reloadSoon.setInterval(kReloadDelay);
    connect(&m_reloadSoon, &QTimer::timeout, this,
            [this] { qCInfo(lcBroker).noquote() << "authorized keys changed:" << reload(); });
    connect(&m_watcher, &QFileSystemWatcher::directoryChanged, this,
            [this] { m_reloadSoon.start(); });
    const auto onFailed = [this](const SocketEvent& event) { onHandshakeFailed(event); };
    m_handshakeEvents.on(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, onFailed)
        .on(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, onFailed);
    qCInfo(lcBroker).noquote() << "CURVE on, authorized keys:" << reload();
}

CurveAuthenticator::~CurveAuthenticator()
{
    close();
}

void CurveAuthenticator::start()
{
    zmq::socket_t socket(m_context, zmq::socket_type::router);
    socket.set(zmq::sockopt::linger, 0);
    try {
        socket.bind(kZapEndpoint);
    } catch (const zmq::error_t& error) {
        throw Error(std::string("cannot start the CURVE authenticator: ") + kZapEndpoint + ": " +
                    error.what() + " (another broker with CURVE on the same ZeroMQ context?)");
    }
    m_zap = std::make_unique<ZmqSocketNotifier>(std::move(socket),
                                                [this](Frames& frames) { onZapRequest(frames); });
}

void CurveAuthenticator::secure(zmq::socket_t& socket, Role role, Monitor monitor)
{
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, m_serverKeys.secretKey);
    socket.set(zmq::sockopt::zap_domain, std::string(kDomains[static_cast<std::size_t>(role)]));

    // ZAP sees only peers that got as far as offering CURVE; a peer speaking NULL, or one with
    // the wrong server key, fails before that and is seen here.
    if (monitor == Monitor::Caller) {
        return;
    }
    m_monitors.push_back(std::make_unique<ZmqSocketNotifier>(
        SocketMonitor::start(m_context, socket, m_handshakeEvents.events()),
        [this](Frames& frames) { (void)m_handshakeEvents.dispatch(frames); }));
    m_monitored.push_back(socket.handle());
}

void CurveAuthenticator::close()
{
    m_reloadSoon.stop();
    for (void* socket : m_monitored) {
        SocketMonitor::stop(zmq::socket_ref(zmq::from_handle, socket));
    }
    m_monitored.clear();
    m_monitors.clear();
    m_zap.reset();
}

QString CurveAuthenticator::reload()
{
    const std::set<std::string> common = readKeys(m_directory);
    QStringList counts;
    counts << QStringLiteral("%1 for all endpoints").arg(common.size());
    for (std::size_t role = 0; role < kSubdirectories.size(); ++role) {
        const QString path = QDir(m_directory).filePath(QLatin1String(kSubdirectories[role]));
        std::set<std::string> keys = common;
        if (QFileInfo(path).isDir()) {
            const auto own = readKeys(path);
            counts << QStringLiteral("%1 %2")
                          .arg(own.size())
                          .arg(QLatin1String(kSubdirectories[role]));
            keys.insert(own.begin(), own.end());
        }
        m_authorized[role] = std::move(keys);
    }
    watchDirectories();
    return counts.join(QLatin1String(", ")) + QLatin1String(" in ") + m_directory;
}

std::size_t CurveAuthenticator::keyCount() const noexcept
{
    std::set<std::string> all;
    for (const auto& keys : m_authorized) {
        all.insert(keys.begin(), keys.end());
    }
    return all.size();
}

void CurveAuthenticator::watchDirectories()
{
    // A subdirectory made after start is watched from the reload its creation triggers.
    QStringList paths{m_directory};
    for (const char* subdirectory : kSubdirectories) {
        const QString path = QDir(m_directory).filePath(QLatin1String(subdirectory));
        if (QFileInfo(path).isDir()) {
            paths << path;
        }
    }
    const QStringList watched = m_watcher.directories();
    for (const QString& path : paths) {
        if (!watched.contains(path)) {
            m_watcher.addPath(path);
        }
    }
}

void CurveAuthenticator::onZapRequest(Frames& frames)
{
    // ROUTER framing: routing id, empty, then RFC 27: version, request id, domain, address,
    // identity, mechanism, credentials.
    if (frames.size() < 8 || frameView(frames[2]) != "1.0") {
        return; // not ZAP; libzmq never sends this, and nothing else can reach an inproc name
    }
    const std::string_view domain = frameView(frames[4]);
    const std::string_view address = frameView(frames[5]);
    const std::string_view mechanism = frameView(frames[7]);

    std::string_view status = "400";
    std::string text = "unknown key";
    std::string_view key;
    std::size_t role = kDomains.size();
    for (std::size_t i = 0; i < kDomains.size(); ++i) {
        if (kDomains[i] == domain) {
            role = i;
        }
    }
    if (mechanism != "CURVE") {
        text = "CURVE required";
    } else if (frames.size() < 9 || frames[8].size() != curve::kKeyBytes) {
        text = "malformed CURVE credentials";
    } else if (role == kDomains.size()) {
        text = "unknown domain";
    } else {
        key = frameView(frames[8]);
        if (m_authorized[role].count(std::string(key)) != 0) {
            status = "200";
            text = "OK";
        }
    }
    if (status != "200") {
        ++m_refused;
        std::uint64_t suppressed = 0;
        if (m_refusedLog.admit(suppressed)) {
            QString line =
                QStringLiteral("refused a connection to %1 from %2 (%3")
                    .arg(fromUtf8(domain), fromUtf8(address), QString::fromStdString(text));
            if (!key.empty()) {
                line += QStringLiteral(": public key ") + QString::fromStdString(z85Of(key));
            }
            line += QLatin1Char(')');
            if (suppressed > 0) {
                line += QStringLiteral(" [%1 more not logged]").arg(suppressed);
            }
            qCWarning(lcBroker).noquote() << line;
        }
    }

    m_reply.clear();
    m_reply.emplace_back(std::move(frames[0]));
    m_reply.emplace_back();
    m_reply.emplace_back("1.0", 3);
    m_reply.emplace_back(std::move(frames[3]));
    m_reply.emplace_back(status.data(), status.size());
    m_reply.emplace_back(text.data(), text.size());
    // The user id: the key, so that libzmq can tell it to the socket (ZMQ_MSG_PROPERTY).
    const std::string userId = key.empty() ? std::string() : z85Of(key);
    m_reply.emplace_back(userId.data(), userId.size());
    m_reply.emplace_back();
    (void)m_zap->send(m_reply);
}

void CurveAuthenticator::onHandshakeFailed(const SocketEvent& event)
{
    ++m_handshakesFailed;
    std::uint64_t suppressed = 0;
    if (m_failedLog.admit(suppressed)) {
        // libzmq 4.3 reports a peer without CURVE only when it goes away, without detail.
        QString line = QStringLiteral("a handshake on %1 failed").arg(fromUtf8(event.endpoint));
        if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            line += event.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
                        ? QStringLiteral(": the peer does not use CURVE")
                        : QStringLiteral(": CURVE error 0x%1, wrong server key?")
                              .arg(event.value, 0, 16);
        } else {
            line += QStringLiteral(" (a peer without CURVE, or with the wrong server key?)");
        }
        if (suppressed > 0) {
            line += QStringLiteral(" [%1 more not logged]").arg(suppressed);
        }
        qCWarning(lcBroker).noquote() << line;
    }
}

} // namespace switchboard
