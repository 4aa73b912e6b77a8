#include "adminserver.h"

#include "logging.h"

#include <switchboard/monitoring/adminprotocol.h>
#include <switchboard/monitoring/peername.h>
#include <switchboard/monitoring/snapshotcodec.h>
#include <switchboard/protocol/error.h>
#include <switchboard/protocol/payload.h>

#include <msgpack.hpp>

#include <QString>

#include <algorithm>
#include <numeric>

namespace switchboard {

namespace {

// A frame over bytes shared with other replies: libzmq releases the reference once the frame
// has been sent, possibly from its I/O thread (shared_ptr's count is atomic).
zmq::message_t sharedFrame(std::shared_ptr<const std::string> bytes)
{
    auto* owner = new std::shared_ptr<const std::string>(std::move(bytes));
    return zmq::message_t(
        const_cast<char*>((*owner)->data()), (*owner)->size(),
        [](void*, void* hint) { delete static_cast<std::shared_ptr<const std::string>*>(hint); },
        owner);
}

// unpackPayload's texts are written for the RPC envelope; here they describe admin args.
std::string argsProblem(const ProtocolError& error)
{
    std::string text = error.what();
    constexpr std::string_view kPrefix = "RPC ";
    if (text.starts_with(kPrefix)) {
        text.erase(0, kPrefix.size());
    }
    return text;
}

template <typename Fill>
zmq::message_t packedMap(std::uint32_t size, Fill fill)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(size);
    fill(packer);
    return zmq::message_t(buffer.data(), buffer.size());
}

} // namespace

AdminServer::AdminServer(Handlers handlers, std::chrono::milliseconds snapshotInterval)
    : m_handlers(std::move(handlers))
    , m_snapshotInterval(snapshotInterval)
{}

AdminServer::~AdminServer() = default;

void AdminServer::attach(std::unique_ptr<ZmqSocketNotifier> socket)
{
    m_socket = std::move(socket);
}

bool AdminServer::wantsSnapshots(Clock::time_point now) const noexcept
{
    return m_lastAsked && now - *m_lastAsked < kInterestSpan;
}

void AdminServer::offer(const BrokerSnapshot& snapshot, Clock::time_point now)
{
    if (wantsSnapshots(now)) {
        m_encoded = std::make_shared<const std::string>(snapshotcodec::encode(snapshot));
        m_encodedAt = now;
    }
}

std::shared_ptr<const std::string> AdminServer::encodedSnapshot(Clock::time_point now)
{
    if (!m_encoded || now - m_encodedAt >= m_snapshotInterval) {
        m_encoded =
            std::make_shared<const std::string>(snapshotcodec::encode(m_handlers.takeSnapshot()));
        m_encodedAt = now;
    }
    return m_encoded;
}

void AdminServer::onMessage(Frames& frames)
{
    ++m_requests;
    if (frames.empty()) {
        return;
    }
    // A REQ peer puts an empty delimiter after its identity; it is echoed back below.
    const std::size_t first = frames.size() > 1 && frames[1].size() == 0 ? 2 : 1;
    try {
        handle(frames, first);
    } catch (const std::exception& error) {
        // Not expected: parse failures are answered in handle(). Kept so that nothing a peer
        // sends can take the broker's event loop down.
        ++m_malformed;
        qCWarning(lcBroker) << "admin request failed:" << error.what();
    }
}

void AdminServer::handle(Frames& frames, std::size_t first)
{
    m_out.clear();
    m_out.push_back(std::move(frames[0]));
    if (first == 2) {
        m_out.emplace_back();
    }
    const std::string id(admin::requestIdOf(frames, first));
    const std::size_t size = std::accumulate(
        frames.begin() + 1, frames.end(), std::size_t(0),
        [](std::size_t sum, const zmq::message_t& frame) { return sum + frame.size(); });
    if (size > kMaxRequestSize) {
        refuse(id, admin::errortype::kMalformedRequest,
               "request of " + std::to_string(size) + " bytes; at most " +
                   std::to_string(kMaxRequestSize) + " are accepted");
        return;
    }
    admin::Request request{};
    try {
        request = admin::parseRequest(frames, first);
    } catch (const ProtocolError& error) {
        refuse(id, admin::errortype::kMalformedRequest, error.what());
        return;
    }
    const auto command = frameView(frames[request.commandFrame]);
    const auto& args = frames[request.argsFrame];
    msgpack::object_handle decoded;
    try {
        decoded = rpc::unpackPayload(args, "admin args");
    } catch (const ProtocolError& error) {
        refuse(id, admin::errortype::kMalformedRequest, argsProblem(error));
        return;
    }
    if (decoded.get().type != msgpack::type::MAP) {
        refuse(id, admin::errortype::kMalformedRequest,
               "admin args must be a msgpack map, got " +
                   std::string(rpc::describeType(decoded.get().type)));
        return;
    }
    if (command == admin::command::kSnapshot) {
        answerSnapshot(id, decoded.get().via.map);
    } else if (command == admin::command::kEvict) {
        answerEvict(id, decoded.get().via.map);
    } else {
        refuse(id, admin::errortype::kUnknownCommand,
               "unknown command '" + std::string(command) + "' (known: snapshot, evict)");
    }
}

void AdminServer::answerSnapshot(std::string_view id, const msgpack::object_map& args)
{
    const std::optional<std::uint64_t> format = snapshotcodec::requestedFormat(args);
    if (!format) {
        refuse(id, admin::errortype::kMalformedRequest,
               "snapshot takes {\"format\": the snapshot format its reader reads, uint}");
        return;
    }
    if (*format != snapshotcodec::kFormat) {
        // Not malformed: a monitor of another release. It shows this message to its operator.
        reply(id, false,
              admin::encodeFailure(
                  {std::string(admin::errortype::kIncompatibleVersion),
                   snapshotcodec::IncompatibleFormat(snapshotcodec::kFormat, *format).what()}));
        return;
    }
    const auto now = Clock::now();
    m_lastAsked = now;
    reply(id, true, sharedFrame(encodedSnapshot(now)));
}

void AdminServer::answerEvict(std::string_view id, const msgpack::object_map& map)
{
    std::optional<std::string_view> identity;
    for (std::uint32_t i = 0; i < map.size; ++i) {
        const auto& [key, value] = map.ptr[i];
        if (key.type == msgpack::type::STR &&
            std::string_view(key.via.str.ptr, key.via.str.size) == "identity") {
            if (value.type == msgpack::type::BIN) {
                identity = std::string_view(value.via.bin.ptr, value.via.bin.size);
            } else if (value.type == msgpack::type::STR) {
                identity = std::string_view(value.via.str.ptr, value.via.str.size);
            }
        }
    }
    if (!identity || identity->empty() || identity->size() > 255) {
        refuse(id, admin::errortype::kMalformedRequest,
               "evict takes {\"identity\": the worker's routing id, 1 to 255 bytes as bin or str}");
        return;
    }
    const auto held = m_handlers.evict(*identity);
    if (!held) {
        // Not hostile: the worker may just have left since the operator's last snapshot.
        reply(
            id, false,
            admin::encodeFailure({std::string(admin::errortype::kNoSuchWorker),
                                  "no worker with identity " + peerName(*identity).toStdString()}));
        return;
    }
    reply(id, true, packedMap(2, [&](auto& packer) {
              packer.pack(std::string_view("identity"));
              packer.pack_bin(static_cast<std::uint32_t>(identity->size()));
              packer.pack_bin_body(identity->data(), static_cast<std::uint32_t>(identity->size()));
              packer.pack(std::string_view("requestsLost"));
              packer.pack(static_cast<std::uint64_t>(*held));
          }));
}

void AdminServer::refuse(std::string_view id, std::string_view type, const std::string& message)
{
    ++m_malformed;
    std::uint64_t suppressed = 0;
    if (m_log.admit(suppressed)) {
        qCWarning(lcBroker).nospace().noquote()
            << "admin request from " << peerName(frameView(m_out[0])) << " refused (" << type.data()
            << "): " << message.c_str()
            << (suppressed
                    ? qPrintable(
                          QStringLiteral(" (%1 similar messages suppressed)").arg(suppressed))
                    : "");
    }
    reply(id, false, admin::encodeFailure({std::string(type), message}));
}

void AdminServer::reply(std::string_view id, bool ok, zmq::message_t payload)
{
    if (!m_socket) {
        return;
    }
    admin::appendReply(m_out, id, ok ? admin::Status::Ok : admin::Status::Error,
                       std::move(payload));
    // A peer that went away or stopped reading loses its answer; there is no one to tell.
    (void)m_socket->send(m_out);
}

void AdminServer::setReading(bool reading)
{
    if (m_socket) {
        m_socket->setReading(reading);
    }
}

void AdminServer::close(std::chrono::milliseconds linger)
{
    if (m_socket) {
        m_socket->close(linger);
    }
}

} // namespace switchboard
