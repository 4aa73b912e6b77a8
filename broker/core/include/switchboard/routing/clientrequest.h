#pragma once

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/frames.h>
#include <switchboard/protocol/mdp.h>

#include <cstddef>
#include <string_view>

namespace switchboard {

// A client's message read once, at intake: what every later step (MMI, queue, dispatch, the
// answer, an error) asks of it. It keeps positions, not string views: a small frame's bytes live
// inside its zmq_msg_t and move with it when the frames move into a queue or to a worker.
//
// Frames: [client identity, MDP header..., service, body...]; the body of our envelope is
// [request id, method, args, options?] (docs/PROTOCOL.md §6), but any body is routed.
class ClientRequest {
public:
    // The MDP part: throws ProtocolError unless `frames` is a 7/MDP or 18/MDP request.
    static ClientRequest read(const Frames& frames);

    mdp::Version version() const noexcept { return m_version; }
    std::size_t bodyBegin() const noexcept { return m_bodyBegin; }
    // An 8/MMI question for the broker itself, not a service.
    bool isMmi() const noexcept { return m_mmi; }

    static std::string_view client(const Frames& frames) noexcept { return frameView(frames[0]); }
    std::string_view service(const Frames& frames) const noexcept
    {
        return frameView(frames[m_serviceFrame]);
    }
    // The first body frame, which every client that wants to correlate errors sends; empty when
    // it is too long to echo.
    std::string_view requestId(const Frames& frames) const noexcept;
    // Empty unless the body has an envelope-shaped method frame.
    std::string_view method(const Frames& frames) const noexcept
    {
        return rpc::methodOf(frames, m_bodyBegin);
    }

    // The envelope's options frame (timeout, idempotent), decoded once. Not read for MMI.
    // Throws ProtocolError (InvalidPayload) when the frame is there but malformed.
    void readOptions(const Frames& frames)
    {
        m_options = rpc::requestOptionsOf(frames, m_bodyBegin);
    }
    const rpc::RequestOptions& options() const noexcept { return m_options; }

private:
    mdp::Version m_version = mdp::Version::V02;
    bool m_mmi = false;
    std::size_t m_serviceFrame = 0;
    std::size_t m_bodyBegin = 0;
    rpc::RequestOptions m_options;
};

} // namespace switchboard
