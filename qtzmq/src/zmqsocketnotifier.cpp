#include <switchboard/qtzmq/zmqsocketnotifier.h>

#include <iterator>
#include <utility>

namespace switchboard {

ZmqSocketNotifier::ZmqSocketNotifier(zmq::socket_t socket, Handler handler, QObject* parent)
    : QObject(parent)
    , m_socket(std::move(socket))
    , m_handler(std::move(handler))
{
    const auto fd = m_socket.get(zmq::sockopt::fd);
    m_notifier = new QSocketNotifier(static_cast<qintptr>(fd), QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &ZmqSocketNotifier::drain);
    // Messages may have arrived (and their edge been spent) before the notifier existed.
    scheduleDrain();
}

ZmqSocketNotifier::~ZmqSocketNotifier()
{
    if (m_group) {
        m_group->forget(this);
    }
}

void ZmqSocketNotifier::setGroup(ZmqSocketGroup* group) noexcept
{
    if (m_group) {
        m_group->forget(this);
    }
    m_recheckOwed = false;
    m_group = group;
}

void ZmqSocketNotifier::drain()
{
    m_drainScheduled = false;
    m_recheckOwed = false; // this drain is the re-check a send was owed
    if (!m_socket || !m_reading) {
        return;
    }
    // The notifier stays enabled throughout. Receiving until EAGAIN drains the signaler behind
    // ZMQ_FD, so the fd is not left readable when the loop below stops, and handlers never
    // re-enter the event loop, so the notifier cannot fire in the middle. Toggling it around
    // every drain cost an eventfd wake-up of our own loop each time (docs/PERFORMANCE.md).
    //
    // No ZMQ_EVENTS before each message: a receive that finds nothing processes the socket's
    // commands and tries again before it says EAGAIN, which is the same check (in libzmq 4.3 a
    // getpid and a poll of the mailbox each), so the loop pays it once per drain, not once per
    // message besides.
    ZmqSocketGroup* const group = m_group; // the one it enters, should a handler change it
    if (group) {
        group->enterDrain();
    }
    m_draining = true;
    int read = 0;
    bool more = true;
    if (m_beforeDrain) {
        m_beforeDrain();
        more = m_socket && m_reading;
    }
    while (more) {
        if (read == m_maxBatch) {
            // Give timers and the other sockets a turn; a queued drain goes on from here.
            m_draining = false;
            scheduleDrain();
            break;
        }
        m_frames.clear();
        if (!zmq::recv_multipart(m_socket, std::back_inserter(m_frames),
                                 zmq::recv_flags::dontwait)) {
            break; // EAGAIN, after every pending command: ZMQ_FD will signal the next input
        }
        ++read;
        ++m_received;
        m_handler(m_frames);
        more = m_socket && m_reading; // the handler may have closed or paused us
    }
    m_draining = false;
    if (read > 0) {
        ++m_drains;
    }
    if (group) {
        group->leaveDrain(); // the outermost drain re-checks the members sent on meanwhile
    }
}

ZmqSocketNotifier::SendResult ZmqSocketNotifier::send(Frames& frames)
{
    const auto count = frames.size();
    for (std::size_t i = 0; i < count; ++i) {
        auto flags = zmq::send_flags::dontwait;
        if (i + 1 < count) {
            flags = flags | zmq::send_flags::sndmore;
        }
        if (i == 0) {
            // Only the first frame can fail to route; once it is accepted the rest follow.
            try {
                if (!m_socket.send(frames[i], flags)) {
                    recheckAfterSend();
                    return SendResult::WouldBlock;
                }
            } catch (const zmq::error_t& error) {
                if (error.num() != EHOSTUNREACH) {
                    throw;
                }
                recheckAfterSend();
                return SendResult::Unroutable;
            }
        } else {
            (void)m_socket.send(frames[i], flags);
        }
    }
    recheckAfterSend();
    return SendResult::Sent;
}

void ZmqSocketNotifier::recheckAfterSend()
{
    // A drain of this socket in progress receives again before it stops (or re-posts itself at
    // its batch limit), which is the re-check a send needs; so does a drain already queued.
    if (!m_reading || m_draining || m_drainScheduled || m_recheckOwed) {
        return;
    }
    if (m_group && m_group->draining()) {
        m_group->recheckLater(this);
        return;
    }
    scheduleDrain();
}

void ZmqSocketNotifier::scheduleDrain()
{
    // A drain of this socket in progress receives until EAGAIN, or calls this at its batch limit
    // once it has stopped.
    if (m_drainScheduled || !m_reading || m_draining) {
        return;
    }
    m_drainScheduled = true;
    QMetaObject::invokeMethod(this, &ZmqSocketNotifier::drain, Qt::QueuedConnection);
}

void ZmqSocketNotifier::setReading(bool reading)
{
    m_reading = reading;
    if (m_notifier) {
        m_notifier->setEnabled(reading);
    }
    if (reading) {
        scheduleDrain();
    }
}

void ZmqSocketNotifier::close(std::chrono::milliseconds linger)
{
    if (!m_socket) {
        return;
    }
    delete m_notifier;
    m_notifier = nullptr;
    m_reading = false;
    m_socket.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
    m_socket.close();
}

} // namespace switchboard
