#include <switchboard/monitoring/adminclient.h>

#include "logging.h"

#include <switchboard/monitoring/adminprotocol.h>
#include <switchboard/monitoring/peername.h>
#include <switchboard/monitoring/snapshotcodec.h>
#include <switchboard/protocol/error.h>
#include <switchboard/protocol/payload.h>
#include <switchboard/qtzmq/zmqsocketnotifier.h>

#include <msgpack.hpp>

#include <QTimer>

#include <algorithm>
#include <map>
#include <string>

namespace switchboard {

// One DEALER at a time, Lazy Pirate style (zguide ch. 4): requests carry ids, an answer is
// matched by id, and when the oldest request has waited `timeout` the socket is thrown away with
// whatever it still queues, and a fresh one connects. A restarted broker therefore comes back by
// itself, and a stale answer can never be taken for a new one.
class AdminClient::Connection {
public:
    using Clock = std::chrono::steady_clock;

    Connection(AdminClient& owner, QString endpoint, zmq::context_t& context, Options options)
        : m_owner(owner)
        , m_endpoint(std::move(endpoint))
        , m_context(context)
        , m_options(options)
    {
        m_pollTimer.setInterval(std::max(m_options.pollInterval, std::chrono::milliseconds(1)));
        QObject::connect(&m_pollTimer, &QTimer::timeout, &m_owner,
                         [this] { guarded([this] { poll(); }); });
        m_deadlineTimer.setSingleShot(true);
        QObject::connect(&m_deadlineTimer, &QTimer::timeout, &m_owner,
                         [this] { guarded([this] { onDeadline(); }); });
    }

    const QString& endpoint() const noexcept { return m_endpoint; }
    bool isConnected() const noexcept { return m_link == Link::Up; }

    void start()
    {
        if (m_pollTimer.isActive()) {
            return;
        }
        try {
            openSocket();
        } catch (const zmq::error_t& error) {
            throw Error("cannot connect to the admin endpoint " + m_endpoint.toStdString() + ": " +
                        error.what());
        }
        m_pollTimer.start();
        poll();
    }

    void evict(const QByteArray& identity)
    {
        guarded([&] {
            if (!m_socket) {
                openSocket();
            }
            msgpack::sbuffer buffer;
            msgpack::packer<msgpack::sbuffer> packer(buffer);
            packer.pack_map(1);
            packer.pack(std::string_view("identity"));
            packer.pack_bin(static_cast<std::uint32_t>(identity.size()));
            packer.pack_bin_body(identity.constData(), static_cast<std::uint32_t>(identity.size()));
            send(admin::command::kEvict, zmq::message_t(buffer.data(), buffer.size()),
                 {Pending::Kind::Evict, identity, {}});
        });
    }

private:
    enum class Link { Unknown, Up, Down };

    struct Pending {
        enum class Kind { Snapshot, Evict };
        Kind kind;
        QByteArray identity; // Evict
        Clock::time_point deadline;
    };

    // Nothing may escape into the event loop: a closed context or a failed connect is logged
    // and the next poll tries again.
    template <typename Fn>
    void guarded(Fn&& fn)
    {
        try {
            fn();
        } catch (const std::exception& error) {
            qCWarning(lcMonitoring).noquote()
                << "admin client for" << m_endpoint << ":" << error.what();
        }
    }

    void openSocket()
    {
        zmq::socket_t socket(m_context, zmq::socket_type::dealer);
        socket.set(zmq::sockopt::linger, 0);
        m_options.curve.apply(socket);
        socket.connect(m_endpoint.toStdString());
        m_socket = std::make_unique<ZmqSocketNotifier>(
            std::move(socket), [this](Frames& frames) { guarded([&] { onMessage(frames); }); });
    }

    void poll()
    {
        const bool asking = std::any_of(m_pending.begin(), m_pending.end(), [](const auto& entry) {
            return entry.second.kind == Pending::Kind::Snapshot;
        });
        if (!asking) {
            send(admin::command::kSnapshot, snapshotcodec::encodeRequest(),
                 {Pending::Kind::Snapshot, {}, {}});
        }
    }

    void send(std::string_view command, zmq::message_t args, Pending pending)
    {
        const std::string id = std::to_string(++m_nextId);
        Frames frames = admin::makeRequest(id, command, std::move(args));
        // A full queue (the broker away for long) is not an error of its own: the request
        // then times out like any unanswered one.
        (void)m_socket->send(frames);
        pending.deadline = Clock::now() + m_options.timeout;
        m_pending.emplace(id, std::move(pending));
        armDeadline();
    }

    void armDeadline()
    {
        if (m_pending.empty()) {
            m_deadlineTimer.stop();
            return;
        }
        const auto earliest =
            std::min_element(m_pending.begin(), m_pending.end(), [](const auto& a, const auto& b) {
                return a.second.deadline < b.second.deadline;
            })->second.deadline;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(earliest - Clock::now());
        m_deadlineTimer.start(std::max(left, std::chrono::milliseconds(0)) +
                              std::chrono::milliseconds(1));
    }

    void onDeadline()
    {
        const auto now = Clock::now();
        const bool expired =
            std::any_of(m_pending.begin(), m_pending.end(),
                        [&](const auto& entry) { return entry.second.deadline <= now; });
        if (!expired) {
            armDeadline();
            return;
        }
        auto abandoned = std::move(m_pending);
        m_pending.clear();
        m_socket.reset();
        setLink(Link::Down);
        openSocket();
        const QString why = QStringLiteral("no answer from the broker at %1 within %2 ms")
                                .arg(m_endpoint)
                                .arg(m_options.timeout.count());
        for (const auto& [id, pending] : abandoned) {
            if (pending.kind == Pending::Kind::Evict) {
                Q_EMIT m_owner.evictFinished(pending.identity, false, why);
            }
        }
        armDeadline();
    }

    void onMessage(Frames& frames)
    {
        admin::Reply reply{};
        try {
            reply = admin::parseReply(frames);
        } catch (const ProtocolError& error) {
            qCWarning(lcMonitoring).noquote() << "admin client for" << m_endpoint
                                              << ": dropped a malformed reply:" << error.what();
            return;
        }
        const auto found = m_pending.find(std::string(frameView(frames[reply.idFrame])));
        if (found == m_pending.end()) {
            return; // answers a request already given up on
        }
        const Pending pending = std::move(found->second);
        m_pending.erase(found);
        armDeadline();
        setLink(Link::Up);
        const zmq::message_t& payload = frames[reply.payloadFrame];
        if (pending.kind == Pending::Kind::Snapshot) {
            onSnapshot(reply.status, payload);
        } else {
            onEvicted(pending.identity, reply.status, payload);
        }
    }

    void onSnapshot(admin::Status status, const zmq::message_t& payload)
    {
        try {
            if (status == admin::Status::Error) {
                const admin::Failure failure = admin::decodeFailure(payload);
                if (failure.type == admin::errortype::kIncompatibleVersion) {
                    setIncompatible(QString::fromStdString(failure.message));
                    return;
                }
                qCWarning(lcMonitoring).noquote()
                    << "admin client for" << m_endpoint
                    << ": snapshot refused:" << failure.type.c_str() << failure.message.c_str();
                return;
            }
            const BrokerSnapshot snapshot = snapshotcodec::decode(payload);
            m_incompatibility.clear();
            Q_EMIT m_owner.snapshotReceived(snapshot);
        } catch (const snapshotcodec::IncompatibleFormat& error) {
            setIncompatible(QString::fromUtf8(error.what()));
        } catch (const ProtocolError& error) {
            qCWarning(lcMonitoring).noquote()
                << "admin client for" << m_endpoint << ": unreadable snapshot:" << error.what();
        }
    }

    void onEvicted(const QByteArray& identity, admin::Status status, const zmq::message_t& payload)
    {
        const QString name = peerName(identity);
        if (status == admin::Status::Ok) {
            QString message = QStringLiteral("evicted worker %1").arg(name);
            try {
                const auto handle = rpc::unpackPayload(payload, "evict result");
                const auto& map = handle.get();
                for (std::uint32_t i = 0; map.type == msgpack::type::MAP && i < map.via.map.size;
                     ++i) {
                    const auto& [key, value] = map.via.map.ptr[i];
                    if (key.type == msgpack::type::STR &&
                        std::string_view(key.via.str.ptr, key.via.str.size) == "requestsLost" &&
                        value.type == msgpack::type::POSITIVE_INTEGER && value.via.u64 > 0) {
                        message += QStringLiteral(" (%1 request(s) answered WorkerLost)")
                                       .arg(value.via.u64);
                    }
                }
            } catch (const ProtocolError&) {
                // The eviction happened; only its details are unreadable.
            }
            Q_EMIT m_owner.evictFinished(identity, true, message);
            return;
        }
        QString message;
        try {
            const admin::Failure failure = admin::decodeFailure(payload);
            message = QStringLiteral("%1: %2").arg(QString::fromStdString(failure.type),
                                                   QString::fromStdString(failure.message));
        } catch (const ProtocolError& error) {
            message = QStringLiteral("refused, with an unreadable reason (%1)").arg(error.what());
        }
        Q_EMIT m_owner.evictFinished(identity, false, message);
    }

    void setIncompatible(const QString& message)
    {
        if (message == m_incompatibility) {
            return;
        }
        m_incompatibility = message;
        qCWarning(lcMonitoring).noquote() << "admin client for" << m_endpoint << ":" << message;
        Q_EMIT m_owner.brokerIncompatible(message);
    }

    void setLink(Link link)
    {
        if (link == m_link) {
            return;
        }
        m_link = link;
        if (link == Link::Down) {
            m_incompatibility.clear(); // whatever answers next may be another broker
        }
        Q_EMIT m_owner.connectedChanged(link == Link::Up);
    }

    AdminClient& m_owner;
    QString m_endpoint;
    zmq::context_t& m_context;
    Options m_options;
    std::unique_ptr<ZmqSocketNotifier> m_socket;
    std::map<std::string, Pending> m_pending;
    std::uint64_t m_nextId = 0;
    QTimer m_pollTimer;
    QTimer m_deadlineTimer;
    Link m_link = Link::Unknown;
    QString m_incompatibility; // the last "incompatible broker version" reported, if any
};

AdminClient::AdminClient(QString endpoint, zmq::context_t& context, Options options,
                         QObject* parent)
    : QObject(parent)
    , m_connection(std::make_unique<Connection>(*this, std::move(endpoint), context, options))
{
    qRegisterMetaType<BrokerSnapshot>();
}

AdminClient::AdminClient(QString endpoint, zmq::context_t& context, QObject* parent)
    : AdminClient(std::move(endpoint), context, Options{}, parent)
{}

AdminClient::~AdminClient() = default;

const QString& AdminClient::endpoint() const noexcept
{
    return m_connection->endpoint();
}

bool AdminClient::isConnected() const noexcept
{
    return m_connection->isConnected();
}

void AdminClient::start()
{
    m_connection->start();
}

void AdminClient::evictWorker(const QByteArray& identity)
{
    m_connection->evict(identity);
}

} // namespace switchboard
