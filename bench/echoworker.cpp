#include "echoworker.h"

#include <switchboard/protocol/frames.h>
#include <switchboard/protocol/mdp.h>

#include <zmq_addon.hpp>

#include <pthread.h>

#include <cerrno>
#include <exception>
#include <iterator>
#include <utility>

namespace switchboard::bench {

namespace {

constexpr std::string_view kService = "echo";
constexpr std::uint8_t kStatusOk = 0x00;

std::uint8_t workerByte(mdp::WorkerCommand command)
{
    return *mdp::commandByte(mdp::Version::V02, command);
}

} // namespace

EchoWorker::EchoWorker(zmq::context_t& context, std::string endpoint, BenchMode mode)
    : m_context(context)
    , m_endpoint(std::move(endpoint))
    , m_mode(mode)
{}

EchoWorker::~EchoWorker()
{
    join();
}

void EchoWorker::start()
{
    m_thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "bench-worker"); // tells the threads apart in a profile
        run();
    });
}

void EchoWorker::join()
{
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void EchoWorker::run()
{
    try {
        zmq::socket_t socket(m_context, zmq::socket_type::dealer);
        socket.set(zmq::sockopt::linger, 0);
        socket.connect(m_endpoint);
        serve(socket);
    } catch (const zmq::error_t& e) {
        if (e.num() != ETERM) { // ETERM: the run is over and the context shuts down
            m_error = e.what();
        }
    } catch (const std::exception& e) {
        m_error = e.what();
    }
}

void EchoWorker::serve(zmq::socket_t& socket)
{
    const std::uint8_t ready = workerByte(mdp::WorkerCommand::Ready);
    const std::uint8_t request = workerByte(mdp::WorkerCommand::Request);
    const std::uint8_t finalCommand = workerByte(mdp::WorkerCommand::Final);
    const std::uint8_t heartbeat = workerByte(mdp::WorkerCommand::Heartbeat);
    const std::uint8_t disconnect = workerByte(mdp::WorkerCommand::Disconnect);

    if (m_mode == BenchMode::Broker) {
        socket.send(zmq::buffer(mdp::kWorkerHeaderV02), zmq::send_flags::sndmore);
        socket.send(zmq::buffer(&ready, 1), zmq::send_flags::sndmore);
        socket.send(zmq::buffer(kService), zmq::send_flags::none);
    }

    // Where the method frame sits; it is replaced by the status frame of the reply.
    const std::size_t methodFrame = m_mode == BenchMode::Broker ? 5 : 3;
    const std::size_t frameCount = methodFrame + 2;

    Frames frames;
    frames.reserve(8);
    for (;;) {
        frames.clear();
        if (!zmq::recv_multipart(socket, std::back_inserter(frames))) {
            continue; // no receive timeout is set, so this does not happen
        }
        if (m_mode == BenchMode::Broker) {
            if (frames.size() < 2 || frameView(frames[0]) != mdp::kWorkerHeaderV02 ||
                frames[1].size() != 1) {
                m_error = "broker sent a message that is not 18/MDP";
                return;
            }
            const auto command = *frames[1].data<std::uint8_t>();
            if (command == heartbeat) {
                continue; // our replies keep the broker's liveness up; nothing to answer
            }
            if (command == disconnect) {
                return;
            }
            if (command != request) {
                m_error = "unexpected 18/MDP worker command " + std::to_string(command);
                return;
            }
            frames[1] = zmq::message_t(&finalCommand, 1);
        }
        if (frames.size() != frameCount) {
            m_error = "request with " + std::to_string(frames.size()) + " frames, expected " +
                      std::to_string(frameCount);
            return;
        }
        frames[methodFrame] = zmq::message_t(&kStatusOk, 1);
        if (!zmq::send_multipart(socket, frames)) {
            m_error = "send would block with no send timeout";
            return;
        }
        m_answered.fetch_add(1, std::memory_order_relaxed);
    }
}

} // namespace switchboard::bench
