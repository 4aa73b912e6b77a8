#pragma once

// An 18/MDP worker on a thread of its own, written with plain cppzmq from RFC 18 like the peers
// in rawpeer.h, so that client tests do not depend on workerlib. It registers, heartbeats,
// comes back after a DISCONNECT or a silent broker (a restart), and hands each REQUEST to a
// test-supplied handler that answers through a Session, or does not answer at all.

#include "rawpeer.h"

#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::test {

class RawWorker {
public:
    // One REQUEST as the worker received it.
    struct Request {
        std::string client;
        std::string requestId;
        std::string method;
        std::string args; // a msgpack array

        msgpack::object_handle unpackedArgs() const
        {
            return msgpack::unpack(args.data(), args.size());
        }
        template <typename T>
        T arg(std::size_t index) const
        {
            const auto handle = unpackedArgs();
            return handle.get().via.array.ptr[index].as<T>();
        }
    };

    // How a handler answers. Answers may also be sent later, for a request kept aside, from an
    // action given to post().
    class Session {
    public:
        void partial(const Request& request, const std::string& payload)
        {
            m_worker.send(mdp02::partial(request.client, {request.requestId, kOk, payload}));
        }
        void final(const Request& request, const std::string& payload)
        {
            m_worker.send(mdp02::final(request.client, {request.requestId, kOk, payload}));
        }
        // A FINAL with any status byte and payload, for malformed answers.
        void rawFinal(const Request& request, const std::string& status, const std::string& payload)
        {
            m_worker.send(mdp02::final(request.client, {request.requestId, status, payload}));
        }
        void error(const Request& request, const std::string& type, const std::string& message,
                   const std::string& detail = {})
        {
            m_worker.send(mdp02::final(
                request.client, {request.requestId, kError, errorMap(type, message, detail)}));
        }
        // Closes the connection without a word, as a crashed process would, and comes back
        // afterwards as a new worker. The broker notices only when heartbeats stop.
        void die() { m_worker.m_reconnect = true; }
        // Sends DISCONNECT (the broker answers the request WorkerLost) and comes back.
        void disconnect()
        {
            m_worker.send(mdp02::disconnect());
            m_worker.m_reconnect = true;
        }

    private:
        friend class RawWorker;
        explicit Session(RawWorker& worker)
            : m_worker(worker)
        {}
        RawWorker& m_worker;
    };

    using Handler = std::function<void(const Request&, Session&)>;

    RawWorker(zmq::context_t& context, std::string endpoint, std::string service, Handler handler,
              std::chrono::milliseconds heartbeat = std::chrono::milliseconds(100),
              int liveness = 5)
        : m_context(context)
        , m_endpoint(std::move(endpoint))
        , m_service(std::move(service))
        , m_handler(std::move(handler))
        , m_heartbeat(heartbeat)
        , m_liveness(liveness)
        , m_wakeFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
    {
        m_thread = std::thread([this] { run(); });
    }

    ~RawWorker()
    {
        m_stop = true;
        wake();
        m_thread.join();
        close(m_wakeFd);
    }

    RawWorker(const RawWorker&) = delete;
    RawWorker& operator=(const RawWorker&) = delete;

    // REQUESTs received so far.
    int requests() const { return m_requests.load(); }
    // How many times it sent READY: 1 + the times it came back.
    int registrations() const { return m_registrations.load(); }
    // DISCONNECTs received from the broker.
    int disconnects() const { return m_disconnects.load(); }
    // Messages handed to the socket, READY and heartbeats included.
    std::uint64_t messagesSent() const { return m_sent.load(); }

    // Runs `action` on the worker's thread, e.g. to answer a request kept aside.
    void post(std::function<void(Session&)> action)
    {
        {
            const std::lock_guard lock(m_mutex);
            m_posted.push_back(std::move(action));
        }
        wake();
    }

    static std::string errorMap(const std::string& type, const std::string& message,
                                const std::string& detail)
    {
        msgpack::sbuffer buffer;
        msgpack::packer<msgpack::sbuffer> packer(buffer);
        packer.pack_map(3);
        packer.pack(std::string("type"));
        packer.pack(type);
        packer.pack(std::string("message"));
        packer.pack(message);
        packer.pack(std::string("detail"));
        if (detail.empty()) {
            packer.pack_nil();
        } else {
            packer.pack(detail);
        }
        return std::string(buffer.data(), buffer.size());
    }

private:
    using Clock = std::chrono::steady_clock;

    void wake()
    {
        const std::uint64_t one = 1;
        (void)!write(m_wakeFd, &one, sizeof one);
    }

    void send(const Message& message)
    {
        for (std::size_t i = 0; i < message.size(); ++i) {
            const auto flags =
                i + 1 < message.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            m_socket->send(zmq::buffer(message[i]), flags);
        }
        ++m_sent;
    }

    void connect()
    {
        m_socket = std::make_unique<zmq::socket_t>(m_context, zmq::socket_type::dealer);
        m_socket->set(zmq::sockopt::linger, 0);
        m_socket->connect(m_endpoint);
        send(mdp02::ready(m_service));
        ++m_registrations;
        m_heardAt = Clock::now();
        m_reconnect = false;
    }

    void run()
    {
        connect();
        Session session(*this);
        auto heartbeatAt = Clock::now() + m_heartbeat;
        while (!m_stop) {
            zmq::pollitem_t items[] = {{m_socket->handle(), 0, ZMQ_POLLIN, 0},
                                       {nullptr, m_wakeFd, ZMQ_POLLIN, 0}};
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(heartbeatAt - Clock::now());
            zmq::poll(items, 2, std::max(left, std::chrono::milliseconds(0)));
            if ((items[1].revents & ZMQ_POLLIN) != 0) {
                std::uint64_t count = 0;
                (void)!read(m_wakeFd, &count, sizeof count);
                std::vector<std::function<void(Session&)>> posted;
                {
                    const std::lock_guard lock(m_mutex);
                    posted.swap(m_posted);
                }
                for (auto& action : posted) {
                    action(session);
                }
            }
            while (!m_reconnect && (items[0].revents & ZMQ_POLLIN) != 0) {
                std::vector<zmq::message_t> frames;
                if (!zmq::recv_multipart(*m_socket, std::back_inserter(frames),
                                         zmq::recv_flags::dontwait)) {
                    break;
                }
                m_heardAt = Clock::now();
                onMessage(frames, session);
            }
            const auto now = Clock::now();
            if (m_reconnect || now - m_heardAt > m_heartbeat * m_liveness) {
                connect(); // the broker restarted, or told us to, or the handler "crashed"
            }
            if (now >= heartbeatAt) {
                send(mdp02::heartbeat());
                heartbeatAt = now + m_heartbeat;
            }
        }
    }

    void onMessage(const std::vector<zmq::message_t>& frames, Session& session)
    {
        if (frames.size() < 2 || frames[0].to_string_view() != "MDPW02") {
            return;
        }
        const std::string_view command = frames[1].to_string_view();
        if (command == "\x06") {
            ++m_disconnects;
            m_reconnect = true;
            return;
        }
        if (command != "\x02" || frames.size() < 7) {
            return; // heartbeats only prove the broker is alive
        }
        ++m_requests;
        const Request request{frames[2].to_string(), frames[4].to_string(), frames[5].to_string(),
                              frames[6].to_string()};
        m_handler(request, session);
    }

    zmq::context_t& m_context;
    std::string m_endpoint;
    std::string m_service;
    Handler m_handler;
    std::chrono::milliseconds m_heartbeat;
    int m_liveness;
    int m_wakeFd;
    std::unique_ptr<zmq::socket_t> m_socket;
    Clock::time_point m_heardAt;
    bool m_reconnect = false;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_requests{0};
    std::atomic<int> m_registrations{0};
    std::atomic<int> m_disconnects{0};
    std::atomic<std::uint64_t> m_sent{0};
    std::mutex m_mutex;
    std::vector<std::function<void(Session&)>> m_posted;
    std::thread m_thread;
};

} // namespace switchboard::test
