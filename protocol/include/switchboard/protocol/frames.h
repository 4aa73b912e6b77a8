#pragma once

#include <zmq.hpp>

#include <string_view>
#include <vector>

namespace switchboard {

// One multipart ZeroMQ message. Parsers return indexes into it rather than copies, so that a
// broker can move frames from the socket it received them on to the socket it sends them on.
using Frames = std::vector<zmq::message_t>;

inline std::string_view frameView(const zmq::message_t& frame) noexcept
{
    return frame.to_string_view();
}

} // namespace switchboard
