#include "flakyworker.h"

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/error.h>
#include <switchboard/protocol/mdp.h>

#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <random>

namespace switchboard::demo {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kHeartbeat = 2500ms; // the broker's default, as an MDP worker would assume

std::mt19937& randomEngine()
{
    thread_local std::mt19937 engine{std::random_device{}()};
    return engine;
}

template <typename Duration>
Duration between(Duration low, Duration high)
{
    return Duration(std::uniform_int_distribution<typename Duration::rep>(
        low.count(), high.count())(randomEngine()));
}

void send(zmq::socket_t& socket, Frames frames)
{
    (void)zmq::send_multipart(socket, frames, zmq::send_flags::dontwait);
}

} // namespace

FlakyWorker::FlakyWorker(zmq::context_t& context, std::string backend, std::string service)
    : m_context(context)
    , m_backend(std::move(backend))
    , m_service(std::move(service))
    , m_thread([this] { run(); })
{}

FlakyWorker::~FlakyWorker()
{
    m_pacer.stop();
    m_thread.join();
}

void FlakyWorker::run()
{
    for (int generation = 1; live(generation); ++generation) {
        if (!m_pacer.wait(between<std::chrono::milliseconds>(3s, 6s))) {
            return; // dead, and the demo stopped before it came back
        }
    }
}

bool FlakyWorker::live(int generation)
{
    zmq::socket_t socket(m_context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::routing_id, m_service + "-flaky#" + std::to_string(generation));
    socket.connect(m_backend);
    send(socket, mdp::makeWorkerReady(mdp::Version::V02, m_service));

    const auto deathAt = Clock::now() + between<std::chrono::milliseconds>(20s, 40s);
    auto nextHeartbeat = Clock::now() + kHeartbeat;
    Frames frames;
    while (!m_pacer.stopped()) {
        const auto now = Clock::now();
        if (now >= deathAt) {
            return true; // the socket closes with nothing said: a crash
        }
        if (now >= nextHeartbeat) {
            send(socket, mdp::makeWorkerHeartbeat(mdp::Version::V02));
            nextHeartbeat = now + kHeartbeat;
        }
        zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
        const auto wait = std::min(nextHeartbeat, deathAt) - now;
        zmq::poll(&item, 1, std::chrono::duration_cast<std::chrono::milliseconds>(wait) + 1ms);
        frames.clear();
        if (!(item.revents & ZMQ_POLLIN) ||
            !zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
            continue;
        }
        mdp::WorkerMessage message;
        try {
            message = mdp::parseWorkerMessage(frames, 0);
        } catch (const ProtocolError&) {
            continue;
        }
        if (message.command == mdp::WorkerCommand::Disconnect) {
            return true; // told to go: come back like a restarted process
        }
        if (message.command != mdp::WorkerCommand::Request) {
            continue;
        }
        const std::string client(frameView(frames[message.clientFrame]));
        Frames body;
        std::string requestId;
        int pages = 1;
        try {
            const auto envelope = rpc::parseRequest(frames, message.bodyBegin);
            requestId = std::string(frameView(frames[envelope.requestIdFrame]));
            const auto& args = frames[envelope.argsFrame];
            const auto handle = msgpack::unpack(static_cast<const char*>(args.data()), args.size());
            pages = handle.get().via.array.size > 0 ? handle.get().via.array.ptr[0].as<int>() : 1;
        } catch (const std::exception& error) {
            rpc::appendErrorReply(
                body, requestId,
                {std::string(rpc::errortype::kMalformedRequest), error.what(), {}});
            send(socket, mdp::makeWorkerReply(mdp::Version::V02, mdp::WorkerCommand::Final, client,
                                              std::move(body)));
            continue;
        }
        const auto work = between<std::chrono::milliseconds>(30ms, 120ms);
        if (Clock::now() + work >= deathAt) {
            // Dies holding the request: the broker answers it WorkerLost.
            m_pacer.wait(deathAt - Clock::now());
            return true;
        }
        if (!m_pacer.wait(work)) {
            break;
        }
        msgpack::sbuffer result;
        msgpack::pack(result, "report of " + std::to_string(pages) + " pages");
        rpc::appendReply(body, zmq::message_t(requestId.data(), requestId.size()), rpc::Status::Ok,
                         zmq::message_t(result.data(), result.size()));
        send(socket, mdp::makeWorkerReply(mdp::Version::V02, mdp::WorkerCommand::Final, client,
                                          std::move(body)));
        nextHeartbeat = Clock::now() + kHeartbeat;
    }
    socket.set(zmq::sockopt::linger, 200); // a clean exit: let the goodbye leave
    send(socket, mdp::makeWorkerDisconnect(mdp::Version::V02));
    return false;
}

} // namespace switchboard::demo
