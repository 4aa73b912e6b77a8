#pragma once

#include "brokerconnection.h"
#include "brokerset.h"
#include "pendingcall.h"

#include <switchboard/client.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace switchboard::detail {

// The thread behind asynchronous calls: one DEALER per broker, shared by every call in flight
// there and all polled at once, answers matched to their calls by request id and broker,
// deadlines and retries kept in one timer set, and every callback run here.
class IoThread {
public:
    using OnDone = std::function<void(msgpack::object_handle* reply, std::exception_ptr error)>;

    // Connects to every broker of `brokers` (which must outlive it) and starts the thread.
    IoThread(BrokerSet& brokers, const ClientOptions& options);
    // stop()
    ~IoThread();

    // Ends every call still pending with ConnectionLost ("client destroyed"), running its
    // callback, and joins the thread. Calls submitted afterwards (by those callbacks, say) end
    // the same way at once. Safe to call twice; not from the I/O thread itself.
    void stop();

    IoThread(const IoThread&) = delete;
    IoThread& operator=(const IoThread&) = delete;

    // Hands a call over; its request goes out on the I/O thread. Thread-safe.
    void submit(PendingCall call, OnDone onDone);

private:
    // This thread's connection to one broker.
    struct Link {
        std::shared_ptr<RemoteBroker> broker;
        std::unique_ptr<BrokerConnection> connection;
        int calls = 0;      // calls whose request is out here
        bool listed = true; // still one of the set's brokers; closed once `calls` is 0
    };

    struct Entry {
        Entry(PendingCall pending, OnDone done)
            : call(std::move(pending))
            , onDone(std::move(done))
        {}

        PendingCall call;
        OnDone onDone;
        Clock::time_point timer{}; // the key of this call in m_timers
        Link* link = nullptr;      // where the request is out, while the call is Waiting
        RemoteBroker::Load load;   // the same, as the broker's count of calls in flight
        std::shared_ptr<RemoteBroker> previous; // the broker of the last attempt
    };

    void run();
    void serve();
    // Brings m_links in line with the BrokerSet after it resolved its names again.
    void syncLinks();
    Link& linkFor(const std::shared_ptr<RemoteBroker>& broker);
    void rebuildPollItems();
    // Starts the calls submitted since the last time; false once the client is going away.
    bool takeSubmitted();
    void start(Entry entry);
    // Sends the call's request to the broker the set picks.
    void send(Entry& entry);
    // The call's request is no longer out where it was: its answer is lost or in.
    void detach(Entry& entry);
    void onMessages(Link& link);
    void onConnectionLost(Link& link);
    void onAuthRefused(Link& link);
    void onTimers();
    // Settles the call after an event: ends it, or moves its timer to its next wake-up.
    void update(RequestId id);
    void finish(Entry& entry);
    // Ends every call, running its callback, with the error `makeError` words for it.
    void failEverything(const std::function<std::exception_ptr(const CallName&)>& makeError);

    BrokerSet& m_brokers;
    ClientOptions m_options;
    int m_wakeFd = -1;

    std::mutex m_mutex;
    std::vector<std::pair<PendingCall, OnDone>> m_submitted; // guarded by m_mutex
    bool m_stopping = false;                                 // guarded by m_mutex

    // Only the I/O thread touches these.
    std::unordered_map<RequestId, Entry> m_calls;
    std::set<std::pair<Clock::time_point, RequestId>> m_timers;
    Frames m_frames;
    std::vector<std::unique_ptr<Link>> m_links;
    std::uint64_t m_generation = 0;       // of the BrokerSet that m_links follow
    std::vector<zmq::pollitem_t> m_items; // the wake-up, then each link's socket and monitor
    bool m_itemsStale = true;

    std::thread m_thread;
};

} // namespace switchboard::detail
