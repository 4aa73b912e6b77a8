#include "socketpool.h"

namespace switchboard::detail {

SocketPool::Lease::~Lease()
{
    if (m_connection) {
        m_pool->release(std::move(m_connection));
    }
}

SocketPool::SocketPool(zmq::context_t& context, std::string endpoint, const ClientOptions& options,
                       std::shared_ptr<LinkStatus> status)
    : m_context(context)
    , m_endpoint(std::move(endpoint))
    , m_options(options)
    , m_status(std::move(status))
{
    m_idle.push_back(
        std::make_unique<BrokerConnection>(m_context, m_endpoint, m_options, m_status));
}

SocketPool::~SocketPool() = default;

SocketPool::Lease SocketPool::acquire()
{
    {
        const std::lock_guard lock(m_mutex);
        if (!m_idle.empty()) {
            auto connection = std::move(m_idle.back());
            m_idle.pop_back();
            return Lease(*this, std::move(connection));
        }
    }
    // Outside the lock: creating a socket takes a round trip to the context's I/O thread.
    return Lease(*this,
                 std::make_unique<BrokerConnection>(m_context, m_endpoint, m_options, m_status));
}

void SocketPool::readIdleEvents()
{
    std::unique_ptr<BrokerConnection> connection;
    {
        const std::lock_guard lock(m_mutex);
        if (m_idle.empty()) {
            return;
        }
        connection = std::move(m_idle.back());
        m_idle.pop_back();
    }
    // Outside the lock: the connection is this thread's until it goes back.
    connection->readEvents();
    release(std::move(connection));
}

void SocketPool::release(std::unique_ptr<BrokerConnection> connection)
{
    const std::lock_guard lock(m_mutex);
    m_idle.push_back(std::move(connection));
}

} // namespace switchboard::detail
