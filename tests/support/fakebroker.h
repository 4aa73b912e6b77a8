#pragma once

#include "rawpeer.h"
#include "rawworker.h"

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::test {

// A stand-in for the broker that the test drives frame by frame: a bare ROUTER that can
// receive a request and then vanish without answering, as a crashed broker would.
class FakeBroker {
public:
    FakeBroker()
    {
        bind("tcp://127.0.0.1:*");
        m_endpoint = m_socket->get(zmq::sockopt::last_endpoint);
    }

    const std::string& endpoint() const { return m_endpoint; }

    // The next request: [identity, "MDPC02", 0x01, service, request id, method, args], or
    // nullopt when none comes within `wait`.
    std::optional<Message> receive(std::chrono::milliseconds wait = std::chrono::milliseconds(5000))
    {
        zmq::pollitem_t item{m_socket->handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, wait) == 0) {
            return std::nullopt;
        }
        std::vector<zmq::message_t> frames;
        (void)zmq::recv_multipart(*m_socket, std::back_inserter(frames));
        Message message;
        for (const auto& frame : frames) {
            message.push_back(frame.to_string());
        }
        return message;
    }

    void answer(const Message& request, const std::string& payload)
    {
        send({request[0], "MDPC02", "\x03", request[3], request[4], kOk, payload});
    }

    // A FINAL with an error of `type` (WorkerLost, say), as the broker words its own.
    void answerError(const Message& request, const std::string& type)
    {
        send({request[0], "MDPC02", "\x03", request[3], request[4], kError,
              RawWorker::errorMap(type, "from the fake broker", "")});
    }

    void send(const Message& reply)
    {
        for (std::size_t i = 0; i < reply.size(); ++i) {
            m_socket->send(zmq::buffer(reply[i]),
                           i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
    }

    // Closes the socket: the client's connection drops.
    void crash() { m_socket.reset(); }

    // Binds again on the same endpoint; false while the old listener is still being closed.
    bool restart()
    {
        if (m_socket) {
            return true;
        }
        try {
            bind(m_endpoint);
            return true;
        } catch (const zmq::error_t&) {
            m_socket.reset();
            return false;
        }
    }

private:
    void bind(const std::string& endpoint)
    {
        m_socket = std::make_unique<zmq::socket_t>(m_context, zmq::socket_type::router);
        m_socket->set(zmq::sockopt::linger, 0);
        m_socket->bind(endpoint);
    }

    zmq::context_t m_context;
    std::unique_ptr<zmq::socket_t> m_socket;
    std::string m_endpoint;
};

} // namespace switchboard::test
