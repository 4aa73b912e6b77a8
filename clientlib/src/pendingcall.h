#pragma once

#include "brokerconnection.h"
#include "callname.h"
#include "reply.h"

#include <switchboard/client.h>
#include <switchboard/protocol/frames.h>

#include <msgpack.hpp>

#include <chrono>
#include <exception>
#include <string>
#include <vector>

namespace switchboard::detail {

// One call() or callPackedAsync() from its first request to its end, whichever thread does the
// I/O: gathers streamed items, decides whether a lost answer is retried, and words the error
// it ends with. It never touches a socket.
class PendingCall {
public:
    enum class State {
        Waiting,   // a request is out, its answer not yet in
        Backoff,   // the answer was lost; the request goes out again at retryAt()
        Succeeded, // takeResult()
        Failed,    // error()
    };

    PendingCall(std::string service, std::string method, RequestId id, Frames request,
                const CallOptions& options, const ClientOptions& clientOptions,
                Clock::time_point now);

    RequestId id() const noexcept { return m_id; }
    State state() const noexcept { return m_state; }
    bool done() const noexcept { return m_state == State::Succeeded || m_state == State::Failed; }
    Clock::time_point deadline() const noexcept { return m_deadline; }
    Clock::time_point retryAt() const noexcept { return m_retryAt; }
    // When the caller must next call onTimer() unless something arrives first.
    Clock::time_point wakeAt() const noexcept
    {
        return m_state == State::Backoff ? std::min(m_retryAt, m_deadline) : m_deadline;
    }
    CallName name() const noexcept { return {m_service, m_method}; }

    // The request to send now to `broker` (its endpoint, which must stay valid while the call
    // waits there), for the first attempt or a retry (state becomes Waiting).
    Frames takeRequest(const std::string& broker);

    // An answer addressed to this call.
    void onReply(const Frames& frames, const ReplyAddress& address, Clock::time_point now);
    // The connection to the broker of the request in flight dropped: its answer will never
    // come.
    void onConnectionLost(Clock::time_point now);
    // Time passed: fails the call at its deadline. Returns true when a retry is due, and the
    // caller should send takeRequest().
    bool onTimer(Clock::time_point now);
    // Sends nothing before `until` (a call waiting, in Backoff, for a broker to come up).
    void postpone(Clock::time_point until) noexcept { m_retryAt = until; }
    // Ends the call with `error` (e.g. the client is going away).
    void fail(std::exception_ptr error);

    msgpack::object_handle takeResult() { return std::move(m_result); }
    std::exception_ptr error() const noexcept { return m_error; }

private:
    // Retries if the call is idempotent, has retries left and the wait fits in its deadline;
    // otherwise fails with `error`.
    void retryOrFail(std::exception_ptr error, Clock::time_point now);

    std::string m_service;
    std::string m_method;
    const std::string* m_broker = nullptr; // of the latest attempt, for error texts
    RequestId m_id;
    Frames m_request;
    bool m_idempotent;
    int m_maxRetries;
    std::chrono::milliseconds m_timeout;
    std::chrono::milliseconds m_backoff;
    Clock::time_point m_deadline;
    Clock::time_point m_retryAt{};
    int m_attempts = 0;
    // Until the first takeRequest(), a call is like one backing off with its retry due now.
    State m_state = State::Backoff;
    std::vector<msgpack::object_handle> m_items;
    msgpack::object_handle m_result;
    std::exception_ptr m_error;
};

} // namespace switchboard::detail
