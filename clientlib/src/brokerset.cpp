#include "brokerset.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <stdexcept>
#include <utility>

namespace switchboard::detail {

namespace {

// Whether `endpoint` is tcp:// with a host name, which may stand for other addresses later.
bool namesHost(const std::string& endpoint)
{
    constexpr std::string_view kTcp = "tcp://";
    if (!endpoint.starts_with(kTcp)) {
        return false;
    }
    const std::string rest = endpoint.substr(kTcp.size());
    const std::string host = rest.substr(0, rest.rfind(':'));
    unsigned char address[16];
    return !host.empty() && host.front() != '[' && host != "*" &&
           inet_pton(AF_INET, host.c_str(), address) != 1;
}

// Lower is picked first.
int rank(const RemoteBroker& broker, const RemoteBroker* avoid)
{
    int value = 0;
    switch (broker.state()) {
    case LinkStatus::State::Up:
        value = 0;
        break;
    case LinkStatus::State::Unknown:
        value = 1;
        break;
    case LinkStatus::State::Down:
        return 3;
    }
    return &broker == avoid ? 2 : value;
}

// What libzmq would have thrown for the same endpoint, so that a bad endpoint fails the same
// way with one broker or several.
BrokerEndpoints checked(std::vector<std::string> configured)
{
    if (configured.empty()) {
        throw std::invalid_argument("no broker endpoint given");
    }
    try {
        return BrokerEndpoints(std::move(configured));
    } catch (const std::invalid_argument&) {
        throw zmq::error_t(EINVAL);
    }
}

} // namespace

BrokerSet::BrokerSet(zmq::context_t& context, std::vector<std::string> configured,
                     const ClientOptions& options)
    : m_context(context)
    , m_options(options)
    , m_configured(configured)
    , m_endpoints(checked(std::move(configured)))
{
    update(m_endpoints.current());
    const bool resolves = std::any_of(m_configured.begin(), m_configured.end(), namesHost);
    if (resolves && m_options.resolveInterval > std::chrono::milliseconds::zero()) {
        m_resolver = std::thread([this] { resolveLoop(); });
    }
}

BrokerSet::~BrokerSet()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_stop.notify_all();
    if (m_resolver.joinable()) {
        m_resolver.join();
    }
}

std::shared_ptr<RemoteBroker> BrokerSet::pick(const RemoteBroker* avoid, bool holdForUp)
{
    std::vector<std::shared_ptr<RemoteBroker>> all = brokers();
    if (all.size() == 1) {
        return std::move(all.front());
    }
    // Up ones too: a broker that died while this client sat idle is still Up until some
    // connection to it reads its monitor.
    const auto now = Clock::now();
    for (const auto& broker : all) {
        broker->probe(now);
    }
    std::pair<int, int> best{std::numeric_limits<int>::max(), 0};
    std::vector<std::size_t> tied;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const std::pair<int, int> key{rank(*all[i], avoid), all[i]->inFlight()};
        if (key < best) {
            best = key;
            tied.clear();
        }
        if (key == best) {
            tied.push_back(i);
        }
    }
    if (holdForUp) {
        const auto any = [&all](LinkStatus::State state) {
            return std::any_of(all.begin(), all.end(),
                               [state](const auto& broker) { return broker->state() == state; });
        };
        if (!any(LinkStatus::State::Up) && any(LinkStatus::State::Unknown)) {
            return nullptr;
        }
    }
    const std::uint64_t turn = m_turn.fetch_add(1, std::memory_order_relaxed);
    return std::move(all[tied[turn % tied.size()]]);
}

void BrokerSet::waitForUp(Clock::time_point until) const
{
    const std::uint64_t seen = m_upSignal->count();
    const auto all = brokers();
    if (std::any_of(all.begin(), all.end(), [](const std::shared_ptr<RemoteBroker>& broker) {
            return broker->state() == LinkStatus::State::Up;
        })) {
        return;
    }
    m_upSignal->waitAfter(seen, until);
}

std::vector<std::shared_ptr<RemoteBroker>> BrokerSet::brokers() const
{
    const std::lock_guard lock(m_mutex);
    return m_brokers;
}

void BrokerSet::update(const std::vector<std::string>& endpoints)
{
    std::vector<std::shared_ptr<RemoteBroker>> current = brokers();
    std::vector<std::shared_ptr<RemoteBroker>> next;
    next.reserve(endpoints.size());
    for (const auto& endpoint : endpoints) {
        const auto kept = std::find_if(current.begin(), current.end(), [&](const auto& broker) {
            return broker->endpoint() == endpoint;
        });
        // A broker that stays keeps its connections and its count of calls in flight.
        next.push_back(kept != current.end() ? *kept
                                             : std::make_shared<RemoteBroker>(
                                                   m_context, endpoint, m_options, m_upSignal));
    }
    {
        const std::lock_guard lock(m_mutex);
        m_brokers.swap(next);
    }
    m_generation.fetch_add(1, std::memory_order_acq_rel);
    // `next` now holds the old brokers: the ones that went are closed here, unless calls in
    // flight there still hold them.
}

void BrokerSet::resolveLoop()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        if (m_stop.wait_for(lock, m_options.resolveInterval, [this] { return m_stopping; })) {
            return;
        }
        lock.unlock();
        // Outside the lock: a lookup may take as long as DNS wants.
        if (m_endpoints.refresh()) {
            try {
                update(m_endpoints.current());
            } catch (const zmq::error_t&) {
                // An address libzmq rejects (it resolved, so it should not): keep the brokers
                // there are.
            }
        }
        lock.lock();
    }
}

} // namespace switchboard::detail
