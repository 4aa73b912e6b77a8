#pragma once

#include "brokerconnection.h"
#include "pendingcall.h"

#include <switchboard/client.h>

#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace switchboard::detail {

// The thread behind asynchronous calls: one DEALER shared by every call in flight, answers
// matched to their calls by request id, deadlines and retries kept in one timer set, and
// every callback run here.
class IoThread {
public:
    using OnDone = std::function<void(msgpack::object_handle* reply, std::exception_ptr error)>;

    // Connects and starts the thread.
    IoThread(zmq::context_t& context, const std::string& endpoint, const ClientOptions& options);
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
    struct Entry {
        PendingCall call;
        OnDone onDone;
        Clock::time_point timer; // the key of this call in m_timers
    };

    void run();
    void serve();
    // Starts the calls submitted since the last time; false once the client is going away.
    bool takeSubmitted();
    void start(Entry entry);
    void send(Entry& entry);
    void onMessages();
    void onConnectionLost();
    void onAuthRefused();
    void onTimers();
    // Settles the call after an event: ends it, or moves its timer to its next wake-up.
    void update(RequestId id);
    void finish(Entry& entry);
    // Ends every call, running its callback, with the error `makeError` words for it.
    void failEverything(const std::function<std::exception_ptr(const CallName&)>& makeError);

    BrokerConnection m_connection;
    int m_wakeFd = -1;

    std::mutex m_mutex;
    std::vector<std::pair<PendingCall, OnDone>> m_submitted; // guarded by m_mutex
    bool m_stopping = false;                                 // guarded by m_mutex

    // Only the I/O thread touches these.
    std::unordered_map<RequestId, Entry> m_calls;
    std::set<std::pair<Clock::time_point, RequestId>> m_timers;
    Frames m_frames;

    std::thread m_thread;
};

} // namespace switchboard::detail
