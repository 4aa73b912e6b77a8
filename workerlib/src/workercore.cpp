#include "workercore.h"

#include "brokersession.h"
#include "heartbeatthread.h"
#include "workercapacity.h"

#include <switchboard/protocol/mdp.h>
#include <switchboard/protocol/polluntil.h>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <stdexcept>

#ifndef SWITCHBOARD_VERSION
#define SWITCHBOARD_VERSION "unknown"
#endif

namespace switchboard::detail {

namespace {

// Which worker's session the current thread serves, so wait() can refuse to join itself.
thread_local const WorkerCore* t_sessionOf = nullptr;

std::string validService(std::string service)
{
    if (!mdp::isValidServiceName(service)) {
        throw std::invalid_argument("switchboard::Worker: invalid service name \"" + service +
                                    "\": 1 to 255 bytes without control characters");
    }
    if (service.starts_with("mmi.")) {
        throw std::invalid_argument("switchboard::Worker: service name \"" + service +
                                    "\": the mmi. prefix is the broker's own (8/MMI)");
    }
    return service;
}

WorkerOptions validOptions(WorkerOptions options)
{
    const auto fail = [](const std::string& what) {
        throw std::invalid_argument("switchboard::WorkerOptions: " + what);
    };
    // One session holds every request the worker takes, so both limits are the broker's limit
    // on one worker's credit.
    const std::string upToMaxCredit = " to " + std::to_string(mdp::kMaxWorkerCredit);
    if (options.threads < 1 || options.threads > mdp::kMaxWorkerCredit) {
        fail("threads must be from 1" + upToMaxCredit);
    }
    if (options.maxInFlight &&
        (*options.maxInFlight < 1 || *options.maxInFlight > mdp::kMaxWorkerCredit)) {
        fail("maxInFlight must be from 1" + upToMaxCredit);
    }
    if (options.maxInFlight && *options.maxInFlight < options.threads) {
        fail("maxInFlight must be at least threads: a thread beyond it would never get a "
             "request (leave maxInFlight unset for as many as threads)");
    }
    if (options.heartbeatInterval.count() <= 0) {
        fail("heartbeatInterval must be positive");
    }
    if (options.liveness < 1) {
        fail("liveness must be at least 1");
    }
    if (options.reconnectMin.count() <= 0 || options.reconnectMax < options.reconnectMin) {
        fail("reconnectMin must be positive and reconnectMax at least reconnectMin");
    }
    if (options.heartbeatInterval * options.liveness > std::chrono::milliseconds(INT_MAX)) {
        fail("heartbeatInterval * liveness must fit in an int of milliseconds");
    }
    if (options.resolveInterval.count() <= 0) {
        fail("resolveInterval must be positive");
    }
    return options;
}

std::string defaultIdentity()
{
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) {
        host[0] = '\0';
    }
    return std::string(host[0] != '\0' ? host : "localhost") + ":" + std::to_string(::getpid());
}

} // namespace

WorkerCore::WorkerCore(zmq::context_t* context, std::string endpoint, std::string service,
                       WorkerOptions options)
    : WorkerCore(context, Brokers{std::move(endpoint), nullptr}, std::move(service),
                 std::move(options))
{}

WorkerCore::WorkerCore(zmq::context_t* context, std::vector<std::string> endpoints,
                       std::string service, WorkerOptions options)
    : WorkerCore(context, brokersOf(std::move(endpoints)), std::move(service), std::move(options))
{}

WorkerCore::Brokers WorkerCore::brokersOf(std::vector<std::string> endpoints)
{
    auto brokers = std::make_unique<BrokerEndpoints>(std::move(endpoints));
    const auto& configured = brokers->configured();
    // One address literal (or ipc://, inproc://) can never be more than one broker: the worker
    // is then exactly the one-broker worker, plain READY and all. A host name may resolve to
    // more tomorrow.
    if (configured.size() == 1 &&
        BrokerEndpoints::resolve(configured.front()) == std::vector{configured.front()}) {
        return {configured.front(), nullptr};
    }
    return {{}, std::move(brokers)};
}

WorkerCore::WorkerCore(zmq::context_t* context, Brokers brokers, std::string service,
                       WorkerOptions options)
    : m_ownContext(context ? nullptr : std::make_unique<zmq::context_t>())
    , m_context(context ? *context : *m_ownContext)
    , m_endpoint(std::move(brokers.one))
    , m_brokers(std::move(brokers.several))
    , m_service(validService(std::move(service)))
    , m_options(validOptions(std::move(options)))
    , m_identity(m_options.identity.empty() ? defaultIdentity() : m_options.identity)
{
    // It becomes the routing id (BrokerSession::routingId), which libzmq limits to 255 bytes
    // and which must not begin with a zero byte; the suffixes take up to 15.
    if (!m_options.identity.empty() &&
        (m_options.identity.size() > 240 || m_options.identity.front() == '\0')) {
        throw std::invalid_argument("WorkerOptions::identity must be 1 to 240 bytes and must "
                                    "not begin with a zero byte");
    }
    // Sessions connect later, on their own threads; an endpoint libzmq rejects should fail here,
    // where the caller can still catch it.
    // Bad CURVE keys too (curve::KeyError).
    zmq::socket_t probe(m_context, zmq::socket_type::dealer);
    probe.set(zmq::sockopt::linger, 0);
    m_options.curve.apply(probe);
    if (m_brokers) {
        probe.set(zmq::sockopt::ipv6, 1); // a name may resolve to IPv6 addresses
        for (const auto& endpoint : m_brokers->current()) {
            probe.connect(endpoint);
        }
    } else {
        probe.connect(m_endpoint);
    }
}

WorkerCore::~WorkerCore()
{
    stop();
    wait();
}

void WorkerCore::addHandler(Handler handler)
{
    if (m_started.load()) {
        throw std::logic_error("switchboard::Worker: methods must be registered before start()");
    }
    m_methods.add(std::move(handler));
}

std::string WorkerCore::describe() const
{
    return m_methods.describe(m_service, m_identity, SWITCHBOARD_VERSION);
}

void WorkerCore::start()
{
    std::lock_guard lock(m_stateMutex);
    if (m_running) {
        throw std::logic_error("switchboard::Worker: already running");
    }
    m_started.store(true);
    if (stopRequested()) {
        return; // stopped for good: nothing to serve
    }
    m_description = describe();
    try {
        if (m_brokers) {
            m_capacity = std::make_unique<WorkerCapacity>(capacity(), m_options.threads);
        }
        {
            std::lock_guard sessions(m_sessionsMutex);
            if (m_brokers) {
                for (const auto& endpoint : m_brokers->current()) {
                    addSession(endpoint);
                }
            } else {
                addSession(m_endpoint);
            }
        }
        m_heartbeat = std::make_unique<HeartbeatThread>(
            [this](auto now, auto slack) { keepAlive(now, slack); }, m_options.heartbeatInterval);
        m_heartbeat->start();
        if (m_brokers) {
            m_resolver = std::thread([this] { resolveLoop(); });
        }
    } catch (...) {
        // No thread left behind: the ones that did start see the stop and end.
        stop();
        if (m_resolver.joinable()) {
            m_resolver.join();
        }
        m_heartbeat.reset();
        m_sessions.clear();
        m_capacity.reset();
        throw;
    }
    m_running = true;
}

void WorkerCore::addSession(const std::string& endpoint)
{
    auto session = std::make_unique<BrokerSession>(*this, endpoint, m_capacity.get());
    try {
        session->start();
    } catch (...) {
        // Its threads that did start end, and the session is joined with the others.
        session->retire();
        m_sessions.push_back(std::move(session));
        throw;
    }
    m_sessions.push_back(std::move(session));
}

void WorkerCore::keepAlive(std::chrono::steady_clock::time_point now,
                           std::chrono::steady_clock::duration slack) noexcept
{
    std::lock_guard lock(m_sessionsMutex);
    for (const auto& session : m_sessions) {
        session->keepAlive(now, slack);
    }
}

void WorkerCore::resolveLoop()
{
    for (;;) {
        zmq::pollitem_t stop{nullptr, m_stopSignal.fd(), ZMQ_POLLIN, 0};
        try {
            (void)pollUntil(&stop, 1, std::chrono::steady_clock::now() + m_options.resolveInterval);
        } catch (const zmq::error_t&) {
            // poll() on one eventfd failed (out of memory): wait the interval out anyway.
            std::this_thread::sleep_for(m_options.resolveInterval);
        }
        if (stopRequested()) {
            return;
        }
        // Without the lock: a name server that takes seconds must not hold up the heartbeats.
        try {
            (void)m_brokers->refresh();
        } catch (const std::exception&) {
            // Out of memory: the brokers stay as they were until the next round.
        }
        std::lock_guard lock(m_sessionsMutex);
        if (stopRequested()) {
            return;
        }
        reapFinishedSessions();
        // Every round, changed or not: a session that could not be started is tried again.
        const auto& current = m_brokers->current();
        for (const auto& session : m_sessions) {
            if (!session->retiring() &&
                !std::binary_search(current.begin(), current.end(), session->endpoint())) {
                session->retire();
            }
        }
        for (const auto& endpoint : current) {
            const bool served =
                std::any_of(m_sessions.begin(), m_sessions.end(), [&](const auto& session) {
                    return !session->retiring() && session->endpoint() == endpoint;
                });
            if (!served) {
                try {
                    addSession(endpoint);
                } catch (const std::exception& error) {
                    log("no session for the broker " + endpoint + " (" + error.what() +
                        "); trying again when its name is next resolved");
                }
            }
        }
    }
}

void WorkerCore::reapFinishedSessions()
{
    std::erase_if(m_sessions, [](const auto& session) { return session->finished(); });
}

int WorkerCore::takeConnectionNumber(const std::string& endpoint)
{
    std::lock_guard lock(m_connectionsMutex);
    return m_connectionNumbers[endpoint]++;
}

void WorkerCore::stop() noexcept
{
    m_stopRequested.store(true, std::memory_order_release);
    m_stopSignal.raise();
}

void WorkerCore::wait()
{
    if (onSessionThread()) {
        throw std::logic_error(
            "switchboard::Worker::wait() called from a handler: it would wait for itself");
    }
    std::lock_guard join(m_joinMutex);
    {
        std::lock_guard lock(m_stateMutex);
        if (!m_running) {
            return;
        }
    }
    // start() cannot touch the sessions while m_running is set, and once the resolver has ended
    // nothing else changes them, so it is safe to join them here.
    if (m_resolver.joinable()) {
        m_resolver.join();
    }
    for (const auto& session : m_sessions) {
        session->join();
    }
    m_heartbeat->stop();
    std::lock_guard lock(m_stateMutex);
    m_heartbeat.reset();
    {
        std::lock_guard sessions(m_sessionsMutex);
        m_sessions.clear();
    }
    m_capacity.reset();
    m_running = false;
}

bool WorkerCore::onSessionThread() const noexcept
{
    return t_sessionOf == this;
}

void WorkerCore::enterSessionThread() const noexcept
{
    t_sessionOf = this;
}

void WorkerCore::log(std::string_view message) const noexcept
{
    try {
        if (m_options.log) {
            m_options.log(message);
            return;
        }
    } catch (...) {
        // The user's sink failed: say it on stderr rather than lose it.
    }
    std::fprintf(stderr, "switchboard::Worker %s: %.*s\n", m_identity.c_str(),
                 static_cast<int>(message.size()), message.data());
}

} // namespace switchboard::detail
