#include <switchboard/protocol/socketmonitor.h>

#include <switchboard/protocol/inprocendpoint.h>

#include <zmq_addon.hpp>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace switchboard {

std::optional<SocketEvent> SocketEvent::decode(const Frames& frames) noexcept
{
    constexpr std::size_t kIdBytes = sizeof(std::uint16_t);
    constexpr std::size_t kValueBytes = sizeof(std::uint32_t);
    if (frames.size() != 2 || frames[0].size() != kIdBytes + kValueBytes) {
        return std::nullopt;
    }
    std::uint16_t id = 0;
    SocketEvent event;
    std::memcpy(&id, frames[0].data(), kIdBytes);
    std::memcpy(&event.value, frames[0].data<char>() + kIdBytes, kValueBytes);
    event.id = id;
    event.endpoint = frameView(frames[1]);
    return event;
}

SocketMonitor& SocketMonitor::on(int event, Callback callback)
{
    const auto found = std::find_if(m_callbacks.begin(), m_callbacks.end(),
                                    [event](const auto& entry) { return entry.first == event; });
    if (found != m_callbacks.end()) {
        found->second = std::move(callback);
    } else {
        m_callbacks.emplace_back(event, std::move(callback));
    }
    m_events |= event;
    return *this;
}

bool SocketMonitor::dispatch(const Frames& frames) const
{
    const std::optional<SocketEvent> event = SocketEvent::decode(frames);
    if (!event) {
        return false;
    }
    dispatch(*event);
    return true;
}

void SocketMonitor::dispatch(const SocketEvent& event) const
{
    for (const auto& [id, callback] : m_callbacks) {
        if (id == event.id && callback) {
            callback(event);
            return;
        }
    }
}

std::size_t SocketMonitor::drain(zmq::socket_ref reader) const
{
    std::size_t read = 0;
    Frames frames;
    while (zmq::recv_multipart(reader, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        ++read;
        dispatch(frames);
        frames.clear();
    }
    return read;
}

zmq::socket_t SocketMonitor::start(zmq::context_t& context, zmq::socket_ref socket, int events)
{
    const std::string endpoint = uniqueInprocEndpoint("monitor");
    if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), events) != 0) {
        throw zmq::error_t();
    }
    try {
        zmq::socket_t reader(context, zmq::socket_type::pair);
        reader.set(zmq::sockopt::linger, 0);
        reader.connect(endpoint);
        return reader;
    } catch (...) {
        stop(socket);
        throw;
    }
}

void SocketMonitor::stop(zmq::socket_ref socket) noexcept
{
    (void)zmq_socket_monitor(socket.handle(), nullptr, 0);
}

} // namespace switchboard
