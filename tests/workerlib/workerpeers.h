#pragma once

// The peers tst_worker and tst_workerbrokers script a worker's brokers and clients with: raw MDP
// clients on DEALERs, and a broker's side on a plain ROUTER.

#include "rawpeer.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

namespace switchboard::test {

// A gate a handler waits at until the test opens it (or a generous timeout ends the test
// rather than hang it). `entered` counts the handlers that reached it.
class Gate {
public:
    // Returns true when opened, false when it timed out.
    bool pass(std::chrono::milliseconds timeout = 20s)
    {
        std::unique_lock lock(m_mutex);
        ++m_entered;
        m_changed.notify_all();
        return m_changed.wait_for(lock, timeout, [this] { return m_open; });
    }
    void open()
    {
        std::lock_guard lock(m_mutex);
        m_open = true;
        m_changed.notify_all();
    }
    bool waitEntered(int count, std::chrono::milliseconds timeout = 10s)
    {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, timeout, [&] { return m_entered >= count; });
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    int m_entered = 0;
    bool m_open = false;
};

// ---------------------------------------------------------------------------------------------
// Peers

struct Reply {
    std::string command; // "REPLY", "PARTIAL", "FINAL"
    std::string requestId;
    std::string status;
    std::string payload;

    bool ok() const { return status == kOk; }
    template <typename T>
    T as() const
    {
        return unpack<T>(payload);
    }
    ErrorReply error() const { return unpackError(payload); }
};

// An MDP client of either version on a DEALER.
class Client {
public:
    Client(zmq::context_t& context, const std::string& endpoint, int version = 2)
        : m_peer(context, endpoint)
        , m_version(version)
    {}

    // Sends a request; returns its id.
    std::string send(const std::string& service, const std::string& method, const std::string& args)
    {
        const std::string id = "rid-" + std::to_string(++m_sent);
        sendBody(service, {id, method, args});
        return id;
    }
    void sendBody(const std::string& service, const Message& body)
    {
        m_peer.send(m_version == 1 ? mdp01::request(service, body) : mdp02::request(service, body));
    }

    std::optional<Reply> receive(std::chrono::milliseconds timeout = 5000ms)
    {
        auto message = m_peer.receive(timeout);
        if (!message) {
            return std::nullopt;
        }
        const Message& m = *message;
        if (m_version == 1) {
            if (m.size() != 6 || m[0] != "" || m[1] != "MDPC01") {
                return Reply{"INVALID", {}, {}, {}};
            }
            return Reply{"REPLY", m[3], m[4], m[5]};
        }
        if (m.size() != 6 || m[0] != "MDPC02" || m[1].size() != 1) {
            return Reply{"INVALID", {}, {}, {}};
        }
        return Reply{m[1] == "\x02"   ? "PARTIAL"
                     : m[1] == "\x03" ? "FINAL"
                                      : "INVALID",
                     m[3], m[4], m[5]};
    }

    std::optional<Reply> call(const std::string& service, const std::string& method,
                              const std::string& args, std::chrono::milliseconds timeout = 5000ms)
    {
        const std::string id = send(service, method, args);
        auto reply = receive(timeout);
        if (reply && reply->requestId != id) {
            reply->command = "WRONG-ID";
        }
        return reply;
    }

private:
    RawPeer m_peer;
    int m_version;
    int m_sent = 0;
};

// The broker's side scripted by hand: a ROUTER on an ephemeral port that workers connect to.
class FakeBroker {
public:
    FakeBroker()
        : m_socket(m_context, zmq::socket_type::router)
    {
        m_socket.set(zmq::sockopt::linger, 0);
        m_socket.bind("tcp://127.0.0.1:*");
        m_endpoint = m_socket.get(zmq::sockopt::last_endpoint);
    }

    const std::string& endpoint() const { return m_endpoint; }

    // The next message: frame 0 is the worker's identity.
    std::optional<Message> receive(std::chrono::milliseconds timeout = 5000ms)
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

    // Waits for READY; returns the identity that sent it.
    std::optional<std::string> nextReady(std::chrono::milliseconds timeout = 5000ms)
    {
        const auto ready = nextReadyMessage(timeout);
        return ready ? std::optional<std::string>((*ready)[0]) : std::nullopt;
    }

    // Waits for READY; returns it whole, the worker's identity first.
    std::optional<Message> nextReadyMessage(std::chrono::milliseconds timeout = 5000ms)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto message = receive(left(deadline));
            if (message && isCommand(*message, '\x01')) {
                return message;
            }
        }
        return std::nullopt;
    }

    // The next message other than HEARTBEAT: READY, an answer, DISCONNECT.
    std::optional<Message> nextNotHeartbeat(std::chrono::milliseconds timeout = 5000ms)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        do {
            auto message = receive(left(deadline));
            if (message && !isCommand(*message, '\x05')) {
                return message;
            }
        } while (std::chrono::steady_clock::now() < deadline);
        return std::nullopt;
    }

    void send(const std::string& identity, const Message& message)
    {
        Message routed{identity};
        routed.insert(routed.end(), message.begin(), message.end());
        for (std::size_t i = 0; i < routed.size(); ++i) {
            m_socket.send(zmq::buffer(routed[i]),
                          i + 1 < routed.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
    }

    // 18/MDP worker commands as the broker sends them.
    static bool isCommand(const Message& message, char command)
    {
        return message.size() >= 3 && message[1] == "MDPW02" && message[2].size() == 1 &&
               message[2][0] == command;
    }
    static std::chrono::milliseconds left(std::chrono::steady_clock::time_point deadline)
    {
        return std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                 deadline - std::chrono::steady_clock::now()));
    }

private:
    zmq::context_t m_context;
    zmq::socket_t m_socket;
    std::string m_endpoint;
};

// A REQUEST as the broker sends it to an 18/MDP worker. With credit, `address` is the client's
// identity followed by the broker's 4-byte tag; the worker must echo it byte for byte.
inline Message workerRequest(const std::string& address, const std::string& requestId,
                             const std::string& method, const std::string& args)
{
    return {"MDPW02", "\x02", address, "", requestId, method, args};
}

// A worker's message without the identity frame the ROUTER put first.
inline Message withoutIdentity(const Message& message)
{
    return Message(message.begin() + 1, message.end());
}

// Counts the handlers inside at once, and the most there ever were.
class Concurrency {
public:
    void enter()
    {
        std::lock_guard lock(m_mutex);
        m_most = std::max(m_most, ++m_inside);
    }
    void leave()
    {
        std::lock_guard lock(m_mutex);
        --m_inside;
    }
    int most()
    {
        std::lock_guard lock(m_mutex);
        return m_most;
    }

private:
    std::mutex m_mutex;
    int m_inside = 0;
    int m_most = 0;
};

} // namespace switchboard::test
