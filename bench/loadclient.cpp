#include "loadclient.h"

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/frames.h>
#include <switchboard/protocol/mdp.h>

#include <zmq_addon.hpp>

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace switchboard::bench {

namespace {

constexpr std::string_view kService = "echo";
constexpr std::string_view kMethod = "echo";
constexpr std::uint8_t kStatusOk = 0x00;

using Clock = std::chrono::steady_clock;

std::uint8_t clientByte(mdp::ClientCommand command)
{
    return *mdp::commandByte(mdp::Version::V02, command);
}

// Describes an error reply for the failure message: decoded when it is an RPC error.
std::string describeErrorReply(const zmq::message_t& payload)
{
    try {
        const rpc::ErrorInfo error = rpc::decodeError(payload);
        return error.type + ": " + error.message;
    } catch (const std::exception&) {
        return "undecodable error payload of " + std::to_string(payload.size()) + " bytes";
    }
}

} // namespace

LoadClient::LoadClient(zmq::context_t& context, std::string endpoint, Load load,
                       const std::string& args, StartLine& startLine)
    : m_context(context)
    , m_endpoint(std::move(endpoint))
    , m_load(load)
    , m_args(args)
    , m_startLine(startLine)
{
    m_sentAt.resize(std::max(m_load.warmupRequests, m_load.measuredRequests));
    m_latenciesNs.reserve(m_load.measuredRequests);
    m_reply.reserve(8);
}

LoadClient::~LoadClient()
{
    join();
}

void LoadClient::start()
{
    m_thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "bench-client"); // tells the threads apart in a profile
        run();
    });
}

void LoadClient::join()
{
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void LoadClient::run()
{
    bool atStartLine = false;
    try {
        zmq::socket_t socket(m_context, zmq::socket_type::dealer);
        socket.set(zmq::sockopt::linger, 0);
        socket.set(zmq::sockopt::rcvtimeo, static_cast<int>(m_load.replyTimeout.count()));
        socket.set(zmq::sockopt::sndtimeo, static_cast<int>(m_load.replyTimeout.count()));
        socket.connect(m_endpoint);

        runPhase(socket, m_load.warmupRequests, false);
        atStartLine = true;
        m_startLine.arrive_and_wait();
        m_from = Clock::now();
        runPhase(socket, m_load.measuredRequests, true);
        m_until = Clock::now();
    } catch (const std::exception& e) {
        m_error = e.what();
        if (!atStartLine) {
            m_startLine.arrive_and_drop(); // so that the other clients do not wait for us
        }
    }
}

void LoadClient::runPhase(zmq::socket_t& socket, std::size_t requests, bool record)
{
    std::size_t sent = 0;
    std::size_t received = 0;
    const auto window = std::min(requests, static_cast<std::size_t>(m_load.inflight));
    while (sent < window) {
        sendRequest(socket, sent++);
    }
    while (received < requests) {
        const std::uint64_t requestId = receiveReply(socket);
        const auto now = Clock::now();
        if (requestId >= sent) {
            throw std::runtime_error("reply to request " + std::to_string(requestId) +
                                     " that was never sent");
        }
        if (record) {
            m_latenciesNs.push_back(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now - m_sentAt[requestId])
                    .count());
        }
        ++received;
        if (sent < requests) {
            sendRequest(socket, sent++);
        }
    }
}

void LoadClient::sendRequest(zmq::socket_t& socket, std::uint64_t requestId)
{
    static const std::uint8_t requestCommand = clientByte(mdp::ClientCommand::Request);
    constexpr auto more = zmq::send_flags::sndmore;

    char requestIdBytes[sizeof requestId];
    std::memcpy(requestIdBytes, &requestId, sizeof requestId);

    m_sentAt[requestId] = Clock::now();
    bool sent = true;
    if (m_load.mode == BenchMode::Broker && m_load.clientVersion == mdp::Version::V01) {
        sent = sent && socket.send(zmq::const_buffer(nullptr, 0), more);
        sent = sent && socket.send(zmq::buffer(mdp::kClientHeaderV01), more);
        sent = sent && socket.send(zmq::buffer(kService), more);
    } else if (m_load.mode == BenchMode::Broker) {
        sent = sent && socket.send(zmq::buffer(mdp::kClientHeaderV02), more);
        sent = sent && socket.send(zmq::buffer(&requestCommand, 1), more);
        sent = sent && socket.send(zmq::buffer(kService), more);
    } else {
        sent = sent && socket.send(zmq::const_buffer(nullptr, 0), more);
    }
    sent = sent && socket.send(zmq::buffer(requestIdBytes), more);
    sent = sent && socket.send(zmq::buffer(kMethod), more);
    sent = sent && socket.send(zmq::buffer(m_args), zmq::send_flags::none);
    if (!sent) {
        throw std::runtime_error("could not send a request within the timeout");
    }
}

std::uint64_t LoadClient::receiveReply(zmq::socket_t& socket)
{
    static const std::uint8_t finalCommand = clientByte(mdp::ClientCommand::Final);

    m_reply.clear();
    if (!zmq::recv_multipart(socket, std::back_inserter(m_reply))) {
        throw std::runtime_error("no reply within " + std::to_string(m_load.replyTimeout.count()) +
                                 " ms");
    }
    // Broker: ["MDPC02", FINAL, "echo", rid, status, payload] (7/MDP: [empty, "MDPC01", "echo",
    // rid, status, payload]); proxy: [empty, rid, status, payload].
    const bool broker = m_load.mode == BenchMode::Broker;
    const bool v01 = broker && m_load.clientVersion == mdp::Version::V01;
    const std::size_t requestIdFrame = broker ? 3 : 1;
    if (m_reply.size() != requestIdFrame + 3) {
        throw std::runtime_error("reply with " + std::to_string(m_reply.size()) + " frames");
    }
    if (v01 && (m_reply[0].size() != 0 || frameView(m_reply[1]) != mdp::kClientHeaderV01)) {
        throw std::runtime_error("reply is not a 7/MDP REPLY");
    }
    if (broker && !v01 &&
        (frameView(m_reply[0]) != mdp::kClientHeaderV02 || m_reply[1].size() != 1 ||
         *m_reply[1].data<std::uint8_t>() != finalCommand)) {
        throw std::runtime_error("reply is not an 18/MDP FINAL");
    }
    if (!broker && m_reply[0].size() != 0) {
        throw std::runtime_error("proxy reply without the empty delimiter");
    }
    const zmq::message_t& status = m_reply[requestIdFrame + 1];
    const zmq::message_t& payload = m_reply[requestIdFrame + 2];
    if (status.size() != 1 || *status.data<std::uint8_t>() != kStatusOk) {
        throw std::runtime_error("error reply: " + describeErrorReply(payload));
    }
    if (payload.size() != m_args.size()) {
        throw std::runtime_error("echoed payload of " + std::to_string(payload.size()) +
                                 " bytes, sent " + std::to_string(m_args.size()));
    }
    std::uint64_t requestId = 0;
    if (m_reply[requestIdFrame].size() != sizeof requestId) {
        throw std::runtime_error("reply with a request id of the wrong size");
    }
    std::memcpy(&requestId, m_reply[requestIdFrame].data(), sizeof requestId);
    return requestId;
}

} // namespace switchboard::bench
