#pragma once

// MDP peers for tests, written with plain cppzmq and msgpack-cxx. They build every frame by hand
// from the RFCs, on purpose: tests that used our own codec would only check that it agrees with
// itself.

#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::test {

using Message = std::vector<std::string>;
using namespace std::chrono_literals;

// A DEALER socket that sends and receives whole messages as vectors of byte strings. With an
// identity, the broker's ROUTER knows it by that name instead of one libzmq makes up.
class RawPeer {
public:
    RawPeer(zmq::context_t& context, const std::string& endpoint, const std::string& identity = {})
        : m_socket(context, zmq::socket_type::dealer)
    {
        m_socket.set(zmq::sockopt::linger, 0);
        if (!identity.empty()) {
            m_socket.set(zmq::sockopt::routing_id, identity);
        }
        m_socket.connect(endpoint);
    }

    void send(const Message& message)
    {
        for (std::size_t i = 0; i < message.size(); ++i) {
            const auto flags =
                i + 1 < message.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            m_socket.send(zmq::buffer(message[i]), flags);
        }
    }

    // The next message, or nullopt if none arrives within `timeout`.
    std::optional<Message> receive(std::chrono::milliseconds timeout = 3000ms)
    {
        zmq::pollitem_t item{m_socket.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, timeout) == 0) {
            return std::nullopt;
        }
        std::vector<zmq::message_t> frames;
        (void)zmq::recv_multipart(m_socket, std::back_inserter(frames));
        Message message;
        for (const auto& frame : frames) {
            message.push_back(frame.to_string());
        }
        return message;
    }

    zmq::socket_t& socket() { return m_socket; }

private:
    zmq::socket_t m_socket;
};

template <typename... Args>
std::string packArgs(const Args&... args)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_array(sizeof...(Args));
    (packer.pack(args), ...);
    return std::string(buffer.data(), buffer.size());
}

template <typename T>
std::string pack(const T& value)
{
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, value);
    return std::string(buffer.data(), buffer.size());
}

template <typename T>
T unpack(const std::string& bytes)
{
    auto handle = msgpack::unpack(bytes.data(), bytes.size());
    return handle.get().as<T>();
}

// The error map of an error reply: {"type", "message", "detail"}.
struct ErrorReply {
    std::string type;
    std::string message;
};

inline ErrorReply unpackError(const std::string& bytes)
{
    auto handle = msgpack::unpack(bytes.data(), bytes.size());
    ErrorReply error;
    const auto& map = handle.get().via.map;
    for (std::uint32_t i = 0; i < map.size; ++i) {
        const auto key = map.ptr[i].key.as<std::string>();
        if (key == "type") {
            error.type = map.ptr[i].val.as<std::string>();
        } else if (key == "message") {
            error.message = map.ptr[i].val.as<std::string>();
        }
    }
    return error;
}

inline const std::string kOk(1, '\x00');
inline const std::string kError(1, '\x01');

// The error type of an 18/MDP FINAL ["MDPC02", 0x03, service, id, status, payload], "OK", or
// "INVALID" for anything else.
inline std::string outcomeOf(const Message& message)
{
    if (message.size() != 6 || message[0] != "MDPC02") {
        return "INVALID";
    }
    return message[4] == kError ? unpackError(message[5]).type : "OK";
}

// 7/MDP (RFC 7) and 18/MDP (RFC 18) messages, as a DEALER peer sends them.
namespace mdp01 {
inline Message request(const std::string& service, const Message& body)
{
    Message m{"", "MDPC01", service};
    m.insert(m.end(), body.begin(), body.end());
    return m;
}
inline Message ready(const std::string& service)
{
    return {"", "MDPW01", "\x01", service};
}
inline Message reply(const std::string& client, const Message& body)
{
    Message m{"", "MDPW01", "\x03", client, ""};
    m.insert(m.end(), body.begin(), body.end());
    return m;
}
inline Message heartbeat()
{
    return {"", "MDPW01", "\x04"};
}
inline Message disconnect()
{
    return {"", "MDPW01", "\x05"};
}
// The credit extension's DECLINE (docs/PROTOCOL.md §11.2), of the tagged address it was sent.
inline Message decline(const std::string& client)
{
    return {"", "MDPW01", "\x06", client};
}
} // namespace mdp01

namespace mdp02 {
inline Message request(const std::string& service, const Message& body)
{
    Message m{"MDPC02", "\x01", service};
    m.insert(m.end(), body.begin(), body.end());
    return m;
}
inline Message ready(const std::string& service)
{
    return {"MDPW02", "\x01", service};
}
inline Message answer(char command, const std::string& client, const Message& body)
{
    Message m{"MDPW02", std::string(1, command), client, ""};
    m.insert(m.end(), body.begin(), body.end());
    return m;
}
inline Message partial(const std::string& client, const Message& body)
{
    return answer('\x03', client, body);
}
inline Message final(const std::string& client, const Message& body)
{
    return answer('\x04', client, body);
}
inline Message heartbeat()
{
    return {"MDPW02", "\x05"};
}
inline Message disconnect()
{
    return {"MDPW02", "\x06"};
}
inline Message decline(const std::string& client)
{
    return {"MDPW02", "\x07", client};
}
} // namespace mdp02

} // namespace switchboard::test
