#pragma once

#include <cstdint>
#include <vector>

namespace switchboard {

class ZmqSocketNotifier;

// The ZmqSocketNotifiers of one thread that send on one another's sockets, such as a broker's
// frontend and backend: each message read from one is answered on the other.
//
// A send can consume the ZMQ_FD edge of input that arrived on its socket meanwhile, so the socket
// needs a re-check afterwards (see ZmqSocketNotifier). Alone, a notifier posts a queued drain of
// itself for that: an eventfd write, a wake-up of its own loop and a read, besides the check.
// In a group, a send made while any member is draining is re-checked when the outermost drain
// ends, by draining that socket right there: one check per socket per drain however many sends
// it took, no posted event, and the drain reads whatever the check finds. The re-checks run in
// rounds, since a re-check's handlers send too; after kRecheckRounds rounds the sockets still
// owed one get a queued drain each, so that timers and other sockets get their turn under load.
//
// Everything runs on the one thread that owns the members; nothing here is locked. The group
// must outlive its members (declare it before them).
class ZmqSocketGroup {
public:
    // Rounds of re-checks at the end of one outermost drain before the rest is left to queued
    // drains; each re-check reads at most its socket's maxBatch messages.
    static constexpr int kRecheckRounds = 2;

    ZmqSocketGroup() = default;
    ZmqSocketGroup(const ZmqSocketGroup&) = delete;
    ZmqSocketGroup& operator=(const ZmqSocketGroup&) = delete;
    ~ZmqSocketGroup();

    // Re-checks made at the end of a drain, and those left to a queued drain after the last
    // round: for tests and measurements.
    std::uint64_t rechecks() const noexcept { return m_rechecks; }
    std::uint64_t rechecksDeferred() const noexcept { return m_deferred; }

private:
    friend class ZmqSocketNotifier;

    bool draining() const noexcept { return m_depth > 0; }
    void enterDrain() noexcept { ++m_depth; }
    // When the outermost drain ends: drains the members owed a re-check, in rounds.
    void leaveDrain();
    // `member` sent while a member was draining: re-check it when the outermost drain ends.
    void recheckLater(ZmqSocketNotifier* member);
    // `member` is being destroyed: it is owed nothing any more.
    void forget(ZmqSocketNotifier* member) noexcept;

    std::vector<ZmqSocketNotifier*> m_owed;  // owed a re-check, in the order they sent
    std::vector<ZmqSocketNotifier*> m_round; // the round being re-checked
    int m_depth = 0;                         // drains of members in progress (nested or not)
    std::uint64_t m_rechecks = 0;
    std::uint64_t m_deferred = 0;
};

} // namespace switchboard
