#pragma once

#include <switchboard/protocol/frames.h>
#include <switchboard/qtzmq/zmqsocketgroup.h>

#include <QObject>
#include <QSocketNotifier>

#include <cstdint>
#include <functional>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace switchboard {

// Puts one ZeroMQ socket on the Qt event loop of the thread that owns it.
//
// ZMQ_FD is edge-triggered: it signals "something changed", not "a message is waiting". It is
// raised when a command reaches the socket's mailbox (such as "a pipe that you found empty has
// input"), and any call on the socket that processes those commands (a send, a receive, reading
// ZMQ_EVENTS) may consume the edge. So a drain receives with ZMQ_DONTWAIT until EAGAIN: libzmq
// processes every pending command before it says EAGAIN, so the next arrival raises ZMQ_FD again.
// A send made outside a drain of its own socket may consume the edge of input that arrived
// meanwhile, so it is followed by a re-check, which is a drain: posted as a queued call (at most
// one per socket), or, for members of a ZmqSocketGroup, made when the group's current drain ends.
// One drain reads at most maxBatch messages and then re-posts itself, so timers and other
// sockets get their turn under load. There is no Write notifier: sends never block
// (ZMQ_DONTWAIT) and report a full or unroutable peer instead. Unlike the usual recipe, the Read
// notifier is not disabled around a drain: see drain(). Handlers must not throw.
class ZmqSocketNotifier : public QObject {
    Q_OBJECT
public:
    // Called once per received multipart message. The handler may move frames out of the vector;
    // whatever is left is discarded when it returns.
    using Handler = std::function<void(Frames& frames)>;

    ZmqSocketNotifier(zmq::socket_t socket, Handler handler, QObject* parent = nullptr);
    ~ZmqSocketNotifier() override;

    zmq::socket_t& socket() noexcept { return m_socket; }

    enum class SendResult {
        Sent,
        WouldBlock, // the peer's queue is at its high-water mark (EAGAIN)
        Unroutable, // ROUTER with ZMQ_ROUTER_MANDATORY: no peer has that identity (EHOSTUNREACH)
    };

    // Sends a whole multipart message without blocking, moving the frames out of `frames`.
    // Unless it returns Sent, nothing was sent and every frame is left in place, so the caller
    // can route the message elsewhere. Throws zmq::error_t on anything else (a closed socket, a
    // context being terminated).
    [[nodiscard]] SendResult send(Frames& frames);

    void setMaxBatch(int maxBatch) noexcept { m_maxBatch = maxBatch > 0 ? maxBatch : 1; }
    // Joins `group` (nullptr: leaves it): re-checks after sends are then coalesced with the
    // group's drains. Call it before the first send; the group must outlive this notifier.
    void setGroup(ZmqSocketGroup* group) noexcept;
    // Called at the start of every drain, before any message is read: the place to retry sends
    // that found a peer's pipe full. A peer that reads frees room, and libzmq says so with a
    // command that raises ZMQ_FD, so a drain follows; sends made here need no re-check of their
    // own, since the drain reads ZMQ_EVENTS after them.
    void setBeforeDrain(std::function<void()> beforeDrain)
    {
        m_beforeDrain = std::move(beforeDrain);
    }
    // Stops (or resumes) reading; sends still work.
    void setReading(bool reading);
    // Closes the socket after `linger`: frames already sent are still delivered for that long.
    void close(std::chrono::milliseconds linger);

    std::uint64_t messagesReceived() const noexcept { return m_received; }
    std::uint64_t drains() const noexcept { return m_drains; }

private Q_SLOTS:
    void drain();

private:
    friend class ZmqSocketGroup;

    // A send outside a drain of this socket may have consumed the edge of pending input.
    void recheckAfterSend();
    void scheduleDrain();

    zmq::socket_t m_socket;
    Handler m_handler;
    std::function<void()> m_beforeDrain;
    QSocketNotifier* m_notifier = nullptr;
    ZmqSocketGroup* m_group = nullptr;
    Frames m_frames; // reused for every message, so receiving allocates nothing in steady state
    int m_maxBatch = 256;
    bool m_reading = true;
    bool m_drainScheduled = false;
    bool m_draining = false;
    bool m_recheckOwed = false; // by the group, for a send made during one of its drains
    std::uint64_t m_received = 0;
    std::uint64_t m_drains = 0;
};

} // namespace switchboard
