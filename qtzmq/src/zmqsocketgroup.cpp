#include <switchboard/qtzmq/zmqsocketgroup.h>

#include <switchboard/qtzmq/zmqsocketnotifier.h>

#include <algorithm>
#include <utility>

namespace switchboard {

ZmqSocketGroup::~ZmqSocketGroup() = default;

void ZmqSocketGroup::recheckLater(ZmqSocketNotifier* member)
{
    member->m_recheckOwed = true;
    m_owed.push_back(member);
}

void ZmqSocketGroup::forget(ZmqSocketNotifier* member) noexcept
{
    // A handler may destroy a member while it is owed a re-check, or while its round runs.
    std::replace(m_owed.begin(), m_owed.end(), member, static_cast<ZmqSocketNotifier*>(nullptr));
    std::replace(m_round.begin(), m_round.end(), member, static_cast<ZmqSocketNotifier*>(nullptr));
}

void ZmqSocketGroup::leaveDrain()
{
    if (m_depth > 1) {
        --m_depth;
        return;
    }
    // The outermost drain ended. The depth stays at 1 meanwhile, so that sends made by the
    // re-checks' handlers are owed to the next round rather than posted.
    for (int round = 0; !m_owed.empty(); ++round) {
        m_round.clear();
        std::swap(m_round, m_owed); // both keep their capacity: no allocation per drain
        const bool last = round == kRecheckRounds;
        for (std::size_t i = 0; i < m_round.size(); ++i) {
            ZmqSocketNotifier* member = m_round[i];
            // A member drained since it sent (a re-check earlier in this round) owes nothing.
            if (!member || !member->m_recheckOwed) {
                continue;
            }
            member->m_recheckOwed = false;
            if (last) {
                ++m_deferred;
                member->scheduleDrain();
            } else {
                ++m_rechecks;
                member->drain();
            }
        }
    }
    m_round.clear();
    m_depth = 0;
}

} // namespace switchboard
