#pragma once

#include "callrecord.h"

#include <switchboard/client.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// The clients of the chaos run. Two switchboard::Client share one sequence of call ids: the
// first makes blocking calls from `concurrency` threads (the library's socket-pool path), the
// second keeps `concurrency` asynchronous calls in flight (its I/O-thread path). Call `id` is
// work(id, id is even) with CallOptions::idempotent = id is even, so exactly half are
// idempotent, and every call has the same deadline.
class ChaosLoad {
public:
    struct Settings {
        std::vector<std::string> endpoints; // one broker, or several for the client to spread over
        std::int64_t requests = 0;
        int concurrency = 1;
        std::chrono::milliseconds deadline{5000};
        switchboard::ClientOptions client;
        // As the call with each of these ids goes out, onMilestone(index into this list) runs
        // on that client thread.
        std::vector<std::int64_t> milestones;
        std::function<void(std::size_t)> onMilestone;
        // Runs on a client thread once every call has ended.
        std::function<void()> onFinished;
    };

    explicit ChaosLoad(Settings settings);
    // Waits for the client threads, unless abandon() gave up on them.
    ~ChaosLoad();

    ChaosLoad(const ChaosLoad&) = delete;
    ChaosLoad& operator=(const ChaosLoad&) = delete;

    static bool isIdempotent(std::int64_t id) noexcept { return id % 2 == 0; }

    void start();
    std::int64_t requests() const noexcept { return m_settings.requests; }
    std::int64_t issued() const noexcept;
    std::int64_t ended() const noexcept;
    // Calls the library reported ended more than once.
    std::int64_t extraEndings() const noexcept { return m_extraEndings.load(); }

    // Read them once ended() == requests(), or after abandon().
    const CallRecord& record(std::int64_t id) const { return m_records[static_cast<size_t>(id)]; }
    // "replied", or the error's class without the namespace ("WorkerLost",
    // "RemoteError(NoSuchMethod)"), or "untyped <class>" for an exception that is no
    // switchboard::Error.
    std::string outcomeName(int outcome) const;
    bool isTypedError(int outcome) const;
    int outcomeCount() const;
    // what() of the error a call ended with, if it ended with one.
    std::string errorText(std::int64_t id) const;

    // Gives up on calls that never ended: client threads stuck in a call are detached and the
    // clients leaked, because a Client must not be destroyed while a thread is inside it. Those
    // threads still end calls into this object's records: leak it too, and keep whatever its
    // Settings functors reach alive (tst_chaos shares its LoopRelay with them).
    void abandon();

private:
    void runBlocking();
    void issueAsync();
    // The next call id, or -1 when all have been issued; runs the milestone it reaches.
    std::int64_t take();
    switchboard::CallOptions optionsFor(std::int64_t id, std::chrono::steady_clock::time_point);
    void endWithValue(std::int64_t id, std::int64_t value);
    void endWithError(std::int64_t id, std::exception_ptr error);
    void end(std::int64_t id, int outcome, std::int64_t value);
    int outcomeOf(const std::string& name, bool typed);

    Settings m_settings;
    std::unique_ptr<CallRecord[]> m_records;
    std::atomic<std::int64_t> m_next{0};
    std::atomic<std::int64_t> m_ended{0};
    std::atomic<std::int64_t> m_extraEndings{0};

    mutable std::mutex m_mutex; // guards the two below
    struct Outcome {
        std::string name;
        bool typed;
    };
    std::vector<Outcome> m_outcomes{{"replied", true}};
    std::map<std::int64_t, std::string> m_errorTexts;

    // After the records: each client ends its pending calls as it is destroyed, and those
    // endings are written into the records.
    std::unique_ptr<switchboard::Client> m_blockingClient;
    std::unique_ptr<switchboard::Client> m_asyncClient;
    std::vector<std::thread> m_threads;
    bool m_abandoned = false;
};
