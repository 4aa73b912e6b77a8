#include <switchboard/routing/clientrequest.h>

#include <switchboard/routing/mmiresponder.h>

namespace switchboard {

ClientRequest ClientRequest::read(const Frames& frames)
{
    const mdp::ClientMessage message = mdp::parseClientRequest(frames, 1);
    ClientRequest request;
    request.m_version = message.version;
    request.m_serviceFrame = message.serviceFrame;
    request.m_bodyBegin = message.bodyBegin;
    request.m_mmi = MmiResponder::isMmi(frameView(frames[message.serviceFrame]));
    return request;
}

std::string_view ClientRequest::requestId(const Frames& frames) const noexcept
{
    if (m_bodyBegin >= frames.size()) {
        return {};
    }
    const auto id = frameView(frames[m_bodyBegin]);
    return id.size() <= rpc::kMaxRequestIdSize ? id : std::string_view{};
}

} // namespace switchboard
