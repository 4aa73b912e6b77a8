#pragma once

#include "brokerconnection.h"
#include "linkstatus.h"
#include "socketpool.h"

#include <switchboard/client.h>

#include <atomic>
#include <memory>
#include <string>

namespace switchboard::detail {

// One broker of the client's set, with the connections blocking calls borrow, the requests in
// flight there (for picking the least loaded broker) and what its connections last saw of it.
class RemoteBroker {
public:
    // Opens the first pooled connection. Throws zmq::error_t for an endpoint libzmq rejects.
    // `upSignal` is told when the broker comes up.
    RemoteBroker(zmq::context_t& context, std::string endpoint, const ClientOptions& options,
                 std::shared_ptr<UpSignal> upSignal);

    RemoteBroker(const RemoteBroker&) = delete;
    RemoteBroker& operator=(const RemoteBroker&) = delete;

    const std::string& endpoint() const noexcept { return m_endpoint; }
    LinkStatus::State state() const noexcept { return m_status->state(); }
    // For connections made elsewhere (the I/O thread's) to report to.
    const std::shared_ptr<LinkStatus>& status() const noexcept { return m_status; }
    SocketPool& pool() noexcept { return m_pool; }
    int inFlight() const noexcept { return m_inFlight.load(std::memory_order_relaxed); }

    // Reads an idle pooled connection's monitor, at most every few milliseconds: a broker no
    // call goes to is otherwise never seen to come (back) up, nor one that died while the
    // client was idle to go down.
    void probe(Clock::time_point now);

    // One request out at a broker, counted in its inFlight() while this lives.
    class Load {
    public:
        Load() = default;
        explicit Load(std::shared_ptr<RemoteBroker> broker);
        ~Load();
        Load(Load&& other) noexcept;
        Load& operator=(Load&& other) noexcept;
        Load(const Load&) = delete;
        Load& operator=(const Load&) = delete;

        RemoteBroker* broker() const noexcept { return m_broker.get(); }
        const std::shared_ptr<RemoteBroker>& shared() const noexcept { return m_broker; }
        explicit operator bool() const noexcept { return m_broker != nullptr; }

    private:
        std::shared_ptr<RemoteBroker> m_broker;
    };

private:
    std::string m_endpoint;
    std::shared_ptr<LinkStatus> m_status;
    SocketPool m_pool;
    std::atomic<int> m_inFlight{0};
    std::atomic<Clock::rep> m_probedAt{0};
};

} // namespace switchboard::detail
