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

std::uint8_t workerByte(mdp::Version version, mdp::WorkerCommand command)
{
    return *mdp::commandByte(version, command);
}

} // namespace

EchoWorker::EchoWorker(zmq::context_t& context, std::string endpoint, BenchMode mode,
                       mdp::Version version, int credit)
    : m_context(context)
    , m_endpoint(std::move(endpoint))
    , m_mode(mode)
    , m_version(version)
    , m_credit(credit)
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
    const bool v01 = m_version == mdp::Version::V01;
    const std::uint8_t ready = workerByte(m_version, mdp::WorkerCommand::Ready);
    const std::uint8_t request = workerByte(m_version, mdp::WorkerCommand::Request);
    const std::uint8_t answer =
        workerByte(m_version, v01 ? mdp::WorkerCommand::Reply : mdp::WorkerCommand::Final);
    const std::uint8_t heartbeat = workerByte(m_version, mdp::WorkerCommand::Heartbeat);
    const std::uint8_t disconnect = workerByte(m_version, mdp::WorkerCommand::Disconnect);
    const std::string_view header = v01 ? mdp::kWorkerHeaderV01 : mdp::kWorkerHeaderV02;
    // 7/MDP puts an empty delimiter first, as a REQ socket would.
    const std::size_t headerFrame = v01 ? 1 : 0;

    if (m_mode == BenchMode::Broker) {
        if (v01) {
            socket.send(zmq::message_t(), zmq::send_flags::sndmore);
        }
        socket.send(zmq::buffer(header), zmq::send_flags::sndmore);
        socket.send(zmq::buffer(&ready, 1), zmq::send_flags::sndmore);
        if (m_credit > 0) {
            socket.send(zmq::buffer(kService), zmq::send_flags::sndmore);
            const std::string credit = std::string(mdp::kCreditPrefix) + std::to_string(m_credit);
            socket.send(zmq::buffer(credit), zmq::send_flags::none);
        } else {
            socket.send(zmq::buffer(kService), zmq::send_flags::none);
        }
    }

    // Where the method frame sits; it is replaced by the status frame of the reply.
    const std::size_t methodFrame = m_mode == BenchMode::Broker ? headerFrame + 5 : 3;
    const std::size_t frameCount = methodFrame + 2;

    Frames frames;
    frames.reserve(9);
    for (;;) {
        frames.clear();
        if (!zmq::recv_multipart(socket, std::back_inserter(frames))) {
            continue; // no receive timeout is set, so this does not happen
        }
        if (m_mode == BenchMode::Broker) {
            const std::size_t commandFrame = headerFrame + 1;
            if (frames.size() <= commandFrame || frameView(frames[headerFrame]) != header ||
                frames[commandFrame].size() != 1) {
                m_error =
                    "broker sent a message that is not " + std::string(mdp::toString(m_version));
                return;
            }
            const auto command = *frames[commandFrame].data<std::uint8_t>();
            if (command == heartbeat) {
                continue; // our replies keep the broker's liveness up; nothing to answer
            }
            if (command == disconnect) {
                return;
            }
            if (command != request) {
                m_error = "unexpected worker command " + std::to_string(command);
                return;
            }
            frames[commandFrame] = zmq::message_t(&answer, 1);
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
