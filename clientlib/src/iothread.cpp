#include "iothread.h"

#include "replyerrors.h"

#include <switchboard/errors.h>
#include <switchboard/protocol/polluntil.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace switchboard::detail {

namespace {

// Answers read in one go before timers get a turn, so that a flood cannot starve deadlines.
constexpr int kMaxDrainBatch = 256;
// How long the thread sleeps when no call has a deadline: any submission wakes it anyway.
constexpr std::chrono::hours kIdleWait{1};

void runCallback(const IoThread::OnDone& onDone, msgpack::object_handle* reply,
                 std::exception_ptr error) noexcept
{
    // A user callback that throws must not take the thread, and every other call, with it.
    try {
        onDone(reply, std::move(error));
    } catch (...) {
    }
}

} // namespace

IoThread::IoThread(zmq::context_t& context, const std::string& endpoint,
                   const ClientOptions& options)
    : m_connection(context, endpoint, options)
{
    // An eventfd rather than an inproc socket: zmq_poll watches plain descriptors too, and a
    // write costs one syscall where an inproc message costs a mutex and a mailbox signal.
    m_wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_wakeFd < 0) {
        throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    m_thread = std::thread([this] { run(); });
}

IoThread::~IoThread()
{
    stop();
    close(m_wakeFd);
}

void IoThread::stop()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    const std::uint64_t one = 1;
    (void)!write(m_wakeFd, &one, sizeof one);
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void IoThread::submit(PendingCall call, OnDone onDone)
{
    std::unique_lock lock(m_mutex);
    if (m_stopping) {
        lock.unlock();
        runCallback(onDone, nullptr, clientDestroyed(call.name()));
        return;
    }
    const bool wake = m_submitted.empty();
    m_submitted.emplace_back(std::move(call), std::move(onDone));
    lock.unlock();
    if (wake) {
        // The thread reads the eventfd before it takes the queue, so a write after the push
        // is never missed; a spare wake-up is harmless.
        const std::uint64_t one = 1;
        (void)!write(m_wakeFd, &one, sizeof one);
    }
}

void IoThread::run()
{
    try {
        serve();
    } catch (const std::exception& error) {
        // Only libzmq throws here, when the application terminated a context it shares with
        // the client: nothing can be sent or received any more.
        const std::string why = error.what();
        const auto makeError = [&why](const CallName& name) {
            return std::make_exception_ptr(
                ConnectionLost(name.describe("the client's I/O thread failed: " + why)));
        };
        std::vector<std::pair<PendingCall, OnDone>> submitted;
        {
            const std::lock_guard lock(m_mutex);
            m_stopping = true;
            submitted.swap(m_submitted);
        }
        for (auto& [call, onDone] : submitted) {
            runCallback(onDone, nullptr, makeError(call.name()));
        }
        failEverything(makeError);
    }
}

void IoThread::serve()
{
    zmq::pollitem_t items[] = {{m_connection.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {m_connection.monitor().handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, m_wakeFd, ZMQ_POLLIN, 0}};
    for (;;) {
        const auto until = m_timers.empty() ? Clock::now() + kIdleWait : m_timers.begin()->first;
        pollUntil(items, 3, until);
        if ((items[2].revents & ZMQ_POLLIN) != 0) {
            if (!takeSubmitted()) {
                failEverything(clientDestroyed);
                return;
            }
        }
        // Answers before drops: an answer that arrived before the connection dropped counts.
        if ((items[0].revents & ZMQ_POLLIN) != 0) {
            onMessages();
        }
        if ((items[1].revents & ZMQ_POLLIN) != 0) {
            const bool dropped = m_connection.takeDisconnects();
            if (m_connection.takeRefusal()) {
                onAuthRefused();
            } else if (dropped) {
                onConnectionLost();
            }
        }
        onTimers();
    }
}

bool IoThread::takeSubmitted()
{
    std::uint64_t count = 0;
    (void)!read(m_wakeFd, &count, sizeof count);
    std::vector<std::pair<PendingCall, OnDone>> submitted;
    bool stopping = false;
    {
        const std::lock_guard lock(m_mutex);
        submitted.swap(m_submitted);
        stopping = m_stopping;
    }
    if (stopping) {
        for (auto& [call, onDone] : submitted) {
            runCallback(onDone, nullptr, clientDestroyed(call.name()));
        }
        return false;
    }
    if (!submitted.empty()) {
        // Drops reported before these requests go out cannot have lost them.
        if (m_connection.takeDisconnects()) {
            onConnectionLost();
        }
    }
    for (auto& [call, onDone] : submitted) {
        start(Entry{std::move(call), std::move(onDone), {}});
    }
    return true;
}

void IoThread::start(Entry entry)
{
    const RequestId id = entry.call.id();
    auto [it, inserted] = m_calls.emplace(id, std::move(entry));
    if (!inserted) {
        return; // cannot happen: ids come from one counter
    }
    // A call that failed before it started (a bad service name) only needs its callback.
    if (!it->second.call.done()) {
        send(it->second);
    }
    update(id);
}

void IoThread::send(Entry& entry)
{
    Frames request = entry.call.takeRequest();
    m_connection.send(request);
}

void IoThread::onMessages()
{
    for (int i = 0; i < kMaxDrainBatch && m_connection.receive(m_frames); ++i) {
        const auto address = addressOf(m_frames);
        if (!address) {
            continue;
        }
        const auto it = m_calls.find(address->requestId);
        if (it == m_calls.end()) {
            continue; // a late answer to a call that already ended
        }
        it->second.call.onReply(m_frames, *address, Clock::now());
        update(address->requestId);
    }
}

void IoThread::onConnectionLost()
{
    const auto now = Clock::now();
    std::vector<RequestId> ids;
    ids.reserve(m_calls.size());
    for (auto& [id, entry] : m_calls) {
        entry.call.onConnectionLost(now);
        ids.push_back(id);
    }
    for (const RequestId id : ids) {
        update(id);
    }
}

void IoThread::onAuthRefused()
{
    // Every call in flight went out on the refused connection: none of them reached the broker.
    std::vector<RequestId> ids;
    ids.reserve(m_calls.size());
    for (auto& [id, entry] : m_calls) {
        if (!entry.call.done()) {
            entry.call.fail(authenticationRefused(entry.call.name()));
        }
        ids.push_back(id);
    }
    for (const RequestId id : ids) {
        update(id);
    }
}

void IoThread::onTimers()
{
    const auto now = Clock::now();
    while (!m_timers.empty() && m_timers.begin()->first <= now) {
        const RequestId id = m_timers.begin()->second;
        Entry& entry = m_calls.at(id);
        if (entry.call.onTimer(now)) {
            send(entry);
        }
        update(id);
    }
}

void IoThread::update(RequestId id)
{
    const auto it = m_calls.find(id);
    if (it == m_calls.end()) {
        return;
    }
    Entry& entry = it->second;
    m_timers.erase({entry.timer, id});
    if (entry.call.done()) {
        Entry finished = std::move(entry);
        m_calls.erase(it);
        finish(finished);
        return;
    }
    entry.timer = entry.call.wakeAt();
    m_timers.emplace(entry.timer, id);
}

void IoThread::finish(Entry& entry)
{
    if (entry.call.state() == PendingCall::State::Succeeded) {
        msgpack::object_handle reply = entry.call.takeResult();
        runCallback(entry.onDone, &reply, nullptr);
    } else {
        runCallback(entry.onDone, nullptr, entry.call.error());
    }
}

void IoThread::failEverything(const std::function<std::exception_ptr(const CallName&)>& makeError)
{
    // Callbacks may submit further calls; submit() refuses them now that m_stopping is set.
    std::unordered_map<RequestId, Entry> calls;
    calls.swap(m_calls);
    m_timers.clear();
    for (auto& [id, entry] : calls) {
        entry.call.fail(makeError(entry.call.name()));
        finish(entry);
    }
}

} // namespace switchboard::detail
