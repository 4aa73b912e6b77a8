#pragma once

#include <switchboard/protocol/error.h>

#include <string>

// How a call can fail, as a client sees it. Every class derives from switchboard::Error, so
// `catch (const switchboard::Error&)` catches them all; what() always names the call
// ("calc.divide: ...") and says what happened.
namespace switchboard {

// No answer within the call's timeout, retries included, or the broker gave up waiting for a
// free worker (MDP error "Expired"). The request may still run.
class TimeoutError : public Error {
public:
    using Error::Error;
};

// The broker has no live worker for the service (MDP error "ServiceUnavailable").
class ServiceUnavailable : public Error {
public:
    using Error::Error;
};

// The service's queue at the broker is at its bound (MDP error "QueueFull").
class QueueFull : public Error {
public:
    using Error::Error;
};

// The worker serving the request died or left before answering (MDP error "WorkerLost").
// The request may have run.
class WorkerLost : public Error {
public:
    using Error::Error;
};

// The connection to a broker dropped (the broker died, or stopped answering heartbeats), or the
// broker shut down, while the request was in flight there; what() names the broker. The request
// may have run, so a call that is not idempotent is never sent again; calls marked idempotent
// are retried instead (on another broker when the client has one that is live).
class ConnectionLost : public Error {
public:
    using Error::Error;
};

// The worker's handler failed, or the broker refused the request for a reason not listed above
// (MalformedRequest, NotImplemented, StreamingUnsupported...). type() is the remote
// error type ("std::domain_error", "TypeError"), message() its text, detail() optional extra
// information such as a stack trace (empty when there is none).
class RemoteError : public Error {
public:
    RemoteError(const std::string& what, std::string type, std::string message, std::string detail);
    const std::string& type() const noexcept { return m_type; }
    const std::string& message() const noexcept { return m_message; }
    const std::string& detail() const noexcept { return m_detail; }

private:
    std::string m_type;
    std::string m_message;
    std::string m_detail;
};

// The broker refused this client's handshake: its CURVE public key is not authorized there, the
// server key is not the broker's, or one side uses CURVE and the other does not. Nothing was
// sent. Calls fail with it at once instead of timing
// out; the next call tries the handshake again (the key may have been authorized since).
class AuthenticationError : public Error {
public:
    using Error::Error;
};

// The reply arrived but does not decode as the type the caller asked for.
class DecodeError : public Error {
public:
    using Error::Error;
};

} // namespace switchboard
