#include <switchboard/routing/heldreplies.h>

#include <iterator>
#include <utility>

namespace switchboard {

std::size_t HeldReplies::footprint(const Frames& frames) noexcept
{
    std::size_t bytes = 0;
    for (const zmq::message_t& frame : frames) {
        bytes += frame.size() + kFrameOverhead;
    }
    return bytes;
}

bool HeldReplies::isHolding(std::string_view client) const
{
    return !m_clients.empty() && m_clients.find(client) != m_clients.end();
}

bool HeldReplies::hold(Frames&& reply, Kind kind)
{
    const auto client = frameView(reply.front());
    auto found = m_clients.find(client);
    const bool first = found == m_clients.end();
    if (first) {
        found = m_clients.try_emplace(std::string(client)).first;
    }
    Backlog& backlog = found->second;
    const std::size_t bytes = footprint(reply);
    backlog.replies.push_back({std::move(reply), bytes, kind});
    backlog.bytes += bytes;
    ++m_replies;
    m_bytes += bytes;
    if (kind == Kind::Refusal) {
        backlog.refusalBytes += bytes;
        m_refusalBytes += bytes;
    }
    return first;
}

HeldReplies::Admission HeldReplies::admissionOf(const Backlog& backlog) const noexcept
{
    // Once refused, a client stays refused until it has read down to half the bound: while it
    // does not read, libzmq still moves a little of what is held into its pipe now and then,
    // and without the margin it would see OK, QueueFull and OK again in turn.
    const std::size_t perClient =
        backlog.atBound ? m_limits.perClientBytes / 2 : m_limits.perClientBytes;
    const std::size_t total = backlog.atBound ? m_limits.totalBytes / 2 : m_limits.totalBytes;
    if (backlog.bytes >= perClient) {
        return backlog.refusalBytes >= m_limits.perClientBytes ? Admission::Discard
                                                               : Admission::RefuseClient;
    }
    if (m_bytes >= total) {
        return m_refusalBytes >= m_limits.totalBytes ? Admission::Discard : Admission::RefuseTotal;
    }
    return Admission::Accept;
}

HeldReplies::Decision HeldReplies::admit(std::string_view client)
{
    const auto found = m_clients.find(client);
    if (found == m_clients.end()) {
        return {}; // it reads what it gets: whatever the others hold, it is served
    }
    Backlog& backlog = found->second;
    Decision decision;
    decision.admission = admissionOf(backlog);
    decision.clientBytes = backlog.bytes;
    if (decision.admission != Admission::Accept && !backlog.atBound) {
        backlog.atBound = true;
        decision.newlyAtBound = true;
    }
    return decision;
}

bool HeldReplies::isPastHardBound(std::string_view client) const
{
    const auto found = m_clients.find(client);
    return found != m_clients.end() && admissionOf(found->second) == Admission::Discard;
}

HeldReplies::FlushReport HeldReplies::flush(const std::function<Delivery(Frames&)>& send)
{
    FlushReport report;
    for (auto it = m_clients.begin(); it != m_clients.end();) {
        Backlog& backlog = it->second;
        bool gone = false;
        while (!backlog.replies.empty()) {
            Held& next = backlog.replies.front();
            const Delivery delivery = send(next.frames);
            if (delivery == Delivery::WouldBlock) {
                break;
            }
            if (delivery == Delivery::Gone) {
                gone = true;
                break;
            }
            ++report.delivered;
            backlog.bytes -= next.bytes;
            m_bytes -= next.bytes;
            if (next.kind == Kind::Refusal) {
                backlog.refusalBytes -= next.bytes;
                m_refusalBytes -= next.bytes;
            }
            --m_replies;
            backlog.replies.pop_front();
        }
        if (gone) {
            report.released.push_back({it->first, backlog.replies.size(), backlog.bytes});
            m_replies -= backlog.replies.size();
            m_bytes -= backlog.bytes;
            m_refusalBytes -= backlog.refusalBytes;
            it = m_clients.erase(it);
        } else if (backlog.replies.empty()) {
            it = m_clients.erase(it); // reading again: its answers go straight out
        } else {
            if (backlog.atBound && admissionOf(backlog) == Admission::Accept) {
                backlog.atBound = false;
            }
            ++it;
        }
    }
    return report;
}

std::vector<HeldReplies::Released> HeldReplies::releaseAll()
{
    std::vector<Released> released;
    released.reserve(m_clients.size());
    for (const auto& [client, backlog] : m_clients) {
        released.push_back({client, backlog.replies.size(), backlog.bytes});
    }
    m_clients.clear();
    m_replies = 0;
    m_bytes = 0;
    m_refusalBytes = 0;
    return released;
}

std::size_t HeldReplies::bytesOf(std::string_view client) const
{
    const auto found = m_clients.find(client);
    return found == m_clients.end() ? 0 : found->second.bytes;
}

std::size_t HeldReplies::clientsAtBound() const noexcept
{
    std::size_t count = 0;
    for (const auto& [client, backlog] : m_clients) {
        count += admissionOf(backlog) != Admission::Accept ? 1 : 0;
    }
    return count;
}

} // namespace switchboard
