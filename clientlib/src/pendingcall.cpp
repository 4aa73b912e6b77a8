#include "pendingcall.h"

#include "replyerrors.h"

#include <switchboard/protocol/error.h>

#include <algorithm>

namespace switchboard::detail {

namespace {

constexpr std::chrono::milliseconds kMaxBackoff{1000};

Frames copyFrames(Frames& frames)
{
    Frames copy(frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
        // Reference-counted for all but the smallest frames: args are not copied per retry.
        copy[i].copy(frames[i]);
    }
    return copy;
}

} // namespace

PendingCall::PendingCall(std::string service, std::string method, RequestId id, Frames request,
                         const CallOptions& options, const ClientOptions& clientOptions,
                         Clock::time_point now)
    : m_service(std::move(service))
    , m_method(std::move(method))
    , m_id(id)
    , m_request(std::move(request))
    , m_idempotent(options.idempotent)
    , m_maxRetries(std::max(0, clientOptions.maxRetries))
    , m_timeout(options.timeout.value_or(clientOptions.timeout))
    , m_backoff(std::clamp(clientOptions.retryBackoff, std::chrono::milliseconds(0), kMaxBackoff))
    , m_deadline(deadlineAfter(now, m_timeout))
    , m_retryAt(now)
{}

Frames PendingCall::takeRequest(const std::string& broker)
{
    m_broker = &broker;
    ++m_attempts;
    m_state = State::Waiting;
    m_items.clear();
    if (m_attempts > 1 && !m_request.empty()) {
        // The broker must not wait longer for a retry than the call has left.
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(m_deadline - Clock::now());
        m_request.back() = rpc::encodeRequestOptions(requestOptions(left, m_idempotent));
    }
    // A call that will never be sent again gives its frames away; the others keep a copy.
    if (m_idempotent && m_attempts <= m_maxRetries) {
        return copyFrames(m_request);
    }
    return std::move(m_request);
}

void PendingCall::onReply(const Frames& frames, const ReplyAddress& address, Clock::time_point now)
{
    if (done()) {
        return;
    }
    ReplyContent content;
    try {
        content = readReply(frames, address, name());
    } catch (const ProtocolError&) {
        fail(std::current_exception());
        return;
    }
    if (content.status == rpc::Status::Error) {
        if (m_idempotent && isRetryable(content.error)) {
            retryOrFail(replyError(name(), content.error, m_attempts, *m_broker), now);
        } else {
            fail(replyError(name(), content.error, m_attempts, *m_broker));
        }
        return;
    }
    if (!address.final) {
        m_items.push_back(std::move(content.value));
        return;
    }
    if (m_items.empty()) {
        m_result = std::move(content.value);
    } else {
        // A stream ends with nil; anything else in its FINAL is one more item, as stream()
        // would yield it.
        if (!isNil(content.value)) {
            m_items.push_back(std::move(content.value));
        }
        m_result = joinItems(m_items);
        m_items.clear();
    }
    m_state = State::Succeeded;
}

void PendingCall::onConnectionLost(Clock::time_point now)
{
    // In Backoff nothing is in flight: the drop costs nothing, the retry goes out once the
    // connection is back.
    if (m_state != State::Waiting) {
        return;
    }
    if (m_idempotent) {
        retryOrFail(connectionLost(name(), m_attempts, *m_broker), now);
    } else {
        fail(connectionLost(name(), m_attempts, *m_broker));
    }
}

bool PendingCall::onTimer(Clock::time_point now)
{
    if (done()) {
        return false;
    }
    if (now >= m_deadline) {
        fail(timeoutError(name(), m_timeout, m_attempts));
        return false;
    }
    return m_state == State::Backoff && now >= m_retryAt;
}

void PendingCall::fail(std::exception_ptr error)
{
    m_error = std::move(error);
    m_state = State::Failed;
    m_items.clear();
}

void PendingCall::retryOrFail(std::exception_ptr error, Clock::time_point now)
{
    const int retriesMade = m_attempts - 1;
    if (retriesMade >= m_maxRetries || deadlineAfter(now, m_backoff) >= m_deadline) {
        fail(std::move(error));
        return;
    }
    m_state = State::Backoff;
    m_retryAt = now + m_backoff;
    m_backoff = std::min(m_backoff * 2, kMaxBackoff);
    m_items.clear();
}

} // namespace switchboard::detail
