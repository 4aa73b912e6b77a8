#pragma once

#include "brokerconnection.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::detail {

// Connections for blocking calls, each lent to one call at a time, so that a call sends,
// waits and receives on its calling thread without handing anything to another thread. The
// pool grows to the peak number of concurrent calls and never shrinks.
class SocketPool {
public:
    // A connection on loan; gives it back when destroyed.
    class Lease {
    public:
        Lease(SocketPool& pool, std::unique_ptr<BrokerConnection> connection)
            : m_pool(&pool)
            , m_connection(std::move(connection))
        {}
        ~Lease();
        Lease(Lease&& other) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;

        BrokerConnection& operator*() const noexcept { return *m_connection; }
        BrokerConnection* operator->() const noexcept { return m_connection.get(); }

    private:
        SocketPool* m_pool;
        std::unique_ptr<BrokerConnection> m_connection;
    };

    // Opens the first connection right away, so that a bad endpoint throws (zmq::error_t) here.
    // Every connection reports to `status`.
    SocketPool(zmq::context_t& context, std::string endpoint, const ClientOptions& options,
               std::shared_ptr<LinkStatus> status = nullptr);
    ~SocketPool();

    SocketPool(const SocketPool&) = delete;
    SocketPool& operator=(const SocketPool&) = delete;

    // An idle connection, or a new one if every connection is on loan.
    Lease acquire();
    // Lets an idle connection read its socket monitor into the LinkStatus, so that a broker
    // nobody calls is still seen to come up. Does nothing when every connection is on loan:
    // their borrowers read them.
    void readIdleEvents();

    zmq::context_t& context() const noexcept { return m_context; }

private:
    void release(std::unique_ptr<BrokerConnection> connection);

    zmq::context_t& m_context;
    std::string m_endpoint;
    ClientOptions m_options;
    std::shared_ptr<LinkStatus> m_status;
    std::mutex m_mutex;
    std::vector<std::unique_ptr<BrokerConnection>> m_idle;
};

} // namespace switchboard::detail
