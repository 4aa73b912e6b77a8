#include "remotebroker.h"

#include <utility>

namespace switchboard::detail {

namespace {

// Often enough that a broker is used within a few calls of its handshake; seldom enough that
// a busy client does not read monitors more often than it sends.
constexpr std::chrono::milliseconds kProbeInterval{5};

} // namespace

RemoteBroker::RemoteBroker(zmq::context_t& context, std::string endpoint,
                           const ClientOptions& options, std::shared_ptr<UpSignal> upSignal)
    : m_endpoint(std::move(endpoint))
    , m_status(std::make_shared<LinkStatus>(std::move(upSignal)))
    , m_pool(context, m_endpoint, options, m_status)
{}

void RemoteBroker::probe(Clock::time_point now)
{
    const Clock::rep nowTicks = now.time_since_epoch().count();
    Clock::rep last = m_probedAt.load(std::memory_order_relaxed);
    const Clock::rep interval = std::chrono::duration_cast<Clock::duration>(kProbeInterval).count();
    if (nowTicks - last < interval ||
        !m_probedAt.compare_exchange_strong(last, nowTicks, std::memory_order_relaxed)) {
        return;
    }
    m_pool.readIdleEvents();
}

RemoteBroker::Load::Load(std::shared_ptr<RemoteBroker> broker)
    : m_broker(std::move(broker))
{
    if (m_broker) {
        m_broker->m_inFlight.fetch_add(1, std::memory_order_relaxed);
    }
}

RemoteBroker::Load::~Load()
{
    if (m_broker) {
        m_broker->m_inFlight.fetch_sub(1, std::memory_order_relaxed);
    }
}

RemoteBroker::Load::Load(Load&& other) noexcept
    : m_broker(std::move(other.m_broker))
{}

RemoteBroker::Load& RemoteBroker::Load::operator=(Load&& other) noexcept
{
    if (this != &other) {
        if (m_broker) {
            m_broker->m_inFlight.fetch_sub(1, std::memory_order_relaxed);
        }
        m_broker = std::move(other.m_broker);
    }
    return *this;
}

} // namespace switchboard::detail
