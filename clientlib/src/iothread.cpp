#include "iothread.h"

#include "replyerrors.h"

#include <switchboard/errors.h>
#include <switchboard/protocol/polluntil.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace switchboard::detail {

namespace {

// Answers read in one go before timers get a turn, so that a flood cannot starve deadlines.
constexpr int kMaxDrainBatch = 256;
// How long the thread sleeps when no call has a deadline: any submission wakes it anyway.
constexpr std::chrono::hours kIdleWait{1};
// How often a call held while no broker is up yet looks again.
constexpr std::chrono::milliseconds kHoldStep{2};

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

IoThread::IoThread(BrokerSet& brokers, const ClientOptions& options)
    : m_brokers(brokers)
    , m_options(options)
{
    syncLinks(); // here, so that a bad endpoint throws to the caller
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
    for (;;) {
        if (m_brokers.generation() != m_generation) {
            syncLinks();
        }
        if (m_itemsStale) {
            rebuildPollItems();
        }
        // An idle thread still follows the BrokerSet, so that brokers found by resolving again
        // are watched before a call needs them.
        const auto idleWait = m_options.resolveInterval > std::chrono::milliseconds::zero()
                                  ? std::min<Clock::duration>(kIdleWait, m_options.resolveInterval)
                                  : Clock::duration(kIdleWait);
        const auto until = m_timers.empty() ? Clock::now() + idleWait : m_timers.begin()->first;
        pollUntil(m_items.data(), static_cast<int>(m_items.size()), until);
        if ((m_items[0].revents & ZMQ_POLLIN) != 0) {
            if (!takeSubmitted()) {
                failEverything(clientDestroyed);
                return;
            }
        }
        // Links are only added until the next rebuild, so these indexes still hold.
        const std::size_t polled = (m_items.size() - 1) / 2;
        // Answers before drops: an answer that arrived before the connection dropped counts.
        for (std::size_t i = 0; i < polled; ++i) {
            if ((m_items[1 + 2 * i].revents & ZMQ_POLLIN) != 0) {
                onMessages(*m_links[i]);
            }
        }
        for (std::size_t i = 0; i < polled; ++i) {
            if ((m_items[2 + 2 * i].revents & ZMQ_POLLIN) != 0) {
                Link& link = *m_links[i];
                const bool dropped = link.connection->takeDisconnects();
                if (link.connection->takeRefusal()) {
                    onAuthRefused(link);
                } else if (dropped) {
                    onConnectionLost(link);
                }
            }
        }
        onTimers();
        const auto idle = std::remove_if(m_links.begin(), m_links.end(), [](const auto& link) {
            return !link->listed && link->calls == 0;
        });
        if (idle != m_links.end()) {
            m_links.erase(idle, m_links.end());
            m_itemsStale = true;
        }
    }
}

void IoThread::syncLinks()
{
    m_generation = m_brokers.generation();
    const auto brokers = m_brokers.brokers();
    for (auto& link : m_links) {
        link->listed = std::find(brokers.begin(), brokers.end(), link->broker) != brokers.end();
    }
    for (const auto& broker : brokers) {
        (void)linkFor(broker);
    }
}

IoThread::Link& IoThread::linkFor(const std::shared_ptr<RemoteBroker>& broker)
{
    for (auto& link : m_links) {
        if (link->broker == broker) {
            return *link;
        }
    }
    auto link = std::make_unique<Link>();
    link->broker = broker;
    link->connection = std::make_unique<BrokerConnection>(
        broker->pool().context(), broker->endpoint(), m_options, broker->status());
    m_links.push_back(std::move(link));
    m_itemsStale = true;
    return *m_links.back();
}

void IoThread::rebuildPollItems()
{
    m_items.clear();
    m_items.push_back({nullptr, m_wakeFd, ZMQ_POLLIN, 0});
    for (const auto& link : m_links) {
        m_items.push_back({link->connection->socket().handle(), 0, ZMQ_POLLIN, 0});
        m_items.push_back({link->connection->monitor().handle(), 0, ZMQ_POLLIN, 0});
    }
    m_itemsStale = false;
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
        for (auto& link : m_links) {
            if (link->connection->takeDisconnects()) {
                onConnectionLost(*link);
            }
        }
    }
    for (auto& [call, onDone] : submitted) {
        start(Entry{std::move(call), std::move(onDone)});
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
    std::shared_ptr<RemoteBroker> broker = m_brokers.pick(entry.previous.get());
    if (!broker) {
        entry.call.postpone(Clock::now() + kHoldStep);
        return;
    }
    Link& link = linkFor(broker);
    Frames request = entry.call.takeRequest(link.broker->endpoint());
    link.connection->send(request);
    ++link.calls;
    entry.link = &link;
    entry.load = RemoteBroker::Load(std::move(broker));
}

void IoThread::detach(Entry& entry)
{
    if (entry.link == nullptr) {
        return;
    }
    --entry.link->calls;
    entry.link = nullptr;
    entry.previous = entry.load.shared();
    entry.load = RemoteBroker::Load();
}

void IoThread::onMessages(Link& link)
{
    for (int i = 0; i < kMaxDrainBatch && link.connection->receive(m_frames); ++i) {
        const auto address = addressOf(m_frames);
        if (!address) {
            continue;
        }
        const auto it = m_calls.find(address->requestId);
        // A late answer to a call that already ended, or one from a broker the call left for
        // another (retried there): only the broker it waits for may end it.
        if (it == m_calls.end() || it->second.link != &link) {
            continue;
        }
        it->second.call.onReply(m_frames, *address, Clock::now());
        update(address->requestId);
    }
}

void IoThread::onConnectionLost(Link& link)
{
    const auto now = Clock::now();
    std::vector<RequestId> ids;
    for (auto& [id, entry] : m_calls) {
        if (entry.link == &link) {
            entry.call.onConnectionLost(now);
            ids.push_back(id);
        }
    }
    for (const RequestId id : ids) {
        update(id);
    }
}

void IoThread::onAuthRefused(Link& link)
{
    // Every call in flight there went out on the refused connection: none reached the broker.
    std::vector<RequestId> ids;
    for (auto& [id, entry] : m_calls) {
        if (entry.link == &link && !entry.call.done()) {
            entry.call.fail(authenticationRefused(entry.call.name()));
            ids.push_back(id);
        }
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
    if (entry.call.state() != PendingCall::State::Waiting) {
        detach(entry);
    }
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
        detach(entry);
        entry.call.fail(makeError(entry.call.name()));
        finish(entry);
    }
}

} // namespace switchboard::detail
