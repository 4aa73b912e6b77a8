#include "rawworkerpool.h"

#include <switchboard/protocol/mdp.h>

#include <zmq_addon.hpp>

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <system_error>

namespace switchboard::bench {

namespace {

constexpr char kReady = '\x01';
constexpr char kRequest = '\x02';
constexpr char kReply = '\x03';
constexpr char kDisconnect = '\x05';

// The 7/MDP worker command of a message as a DEALER receives it: ["", "MDPW01", command, ...].
char commandOf(const std::vector<zmq::message_t>& frames) noexcept
{
    if (frames.size() < 3 || frames[2].size() != 1 ||
        frames[1].to_string_view() != mdp::kWorkerHeaderV01) {
        return 0;
    }
    return *frames[2].data<char>();
}

} // namespace

RawWorkerPool::RawWorkerPool(zmq::context_t& context, const std::string& endpoint,
                             std::string service, std::size_t count)
    : m_service(std::move(service))
{
    m_sockets.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        zmq::socket_t& socket = m_sockets.emplace_back(context, zmq::socket_type::dealer);
        socket.set(zmq::sockopt::linger, 0);
        socket.set(zmq::sockopt::sndhwm, 0);
        socket.set(zmq::sockopt::rcvhwm, 0);
        socket.connect(endpoint);
    }
}

RawWorkerPool::~RawWorkerPool()
{
    stop();
}

void RawWorkerPool::sendReady()
{
    for (zmq::socket_t& socket : m_sockets) {
        socket.send(zmq::message_t(), zmq::send_flags::sndmore);
        socket.send(zmq::buffer(mdp::kWorkerHeaderV01), zmq::send_flags::sndmore);
        socket.send(zmq::buffer(&kReady, 1), zmq::send_flags::sndmore);
        socket.send(zmq::buffer(m_service), zmq::send_flags::none);
    }
}

void RawWorkerPool::answer(const std::atomic<std::size_t>& read, std::size_t window)
{
    m_read = &read;
    m_window = window;
    m_stop = false;
    m_thread = std::thread([this] { run(); });
}

void RawWorkerPool::stop()
{
    m_stop = true;
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void RawWorkerPool::run()
{
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) {
        m_error = std::string("epoll_create1: ") + std::strerror(errno);
        return;
    }
    try {
        for (std::size_t i = 0; i < m_sockets.size(); ++i) {
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.u64 = i;
            const int fd = m_sockets[i].get(zmq::sockopt::fd);
            if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
                throw std::system_error(errno, std::generic_category(), "epoll_ctl");
            }
        }
        // Requests arrived before this thread ran: the ZMQ_FD edges that announced them are
        // gone, so every socket is read once before waiting.
        std::vector<std::size_t> ready(m_sockets.size());
        for (std::size_t i = 0; i < ready.size(); ++i) {
            ready[i] = i;
        }
        std::vector<epoll_event> events(256);
        while (!m_stop.load(std::memory_order_relaxed) && m_error.empty()) {
            while (!ready.empty() &&
                   answered() < m_read->load(std::memory_order_relaxed) + m_window) {
                serve(ready.back());
                ready.pop_back();
            }
            if (!ready.empty()) {
                // A window ahead of the client: its requests wait in their sockets meanwhile.
                std::this_thread::sleep_for(std::chrono::microseconds(50));
                continue;
            }
            const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 20);
            if (n < 0 && errno != EINTR) {
                throw std::system_error(errno, std::generic_category(), "epoll_wait");
            }
            for (int i = 0; i < n; ++i) {
                ready.push_back(
                    static_cast<std::size_t>(events[static_cast<std::size_t>(i)].data.u64));
            }
        }
    } catch (const std::exception& error) {
        m_error = error.what();
    }
    close(epoll);
}

void RawWorkerPool::serve(std::size_t index)
{
    zmq::socket_t& socket = m_sockets[index];
    // Until a receive says there is nothing: ZMQ_FD only signals again after that (and a send
    // may have taken the edge of a message that arrived meanwhile).
    for (;;) {
        m_frames.clear();
        if (!zmq::recv_multipart(socket, std::back_inserter(m_frames), zmq::recv_flags::dontwait)) {
            return;
        }
        const char command = commandOf(m_frames);
        if (command == kRequest) {
            // ["", "MDPW01", REQUEST, client, "", body...] -> the same with REPLY.
            m_frames[2] = zmq::message_t(&kReply, 1);
            zmq::send_multipart(socket, m_frames);
            m_answered.fetch_add(1, std::memory_order_relaxed);
        } else if (command == kDisconnect) {
            m_error = "the broker sent worker " + std::to_string(index) + " DISCONNECT";
            return;
        }
        // HEARTBEAT: nothing to do; the broker's liveness is set far beyond a run.
    }
}

} // namespace switchboard::bench
