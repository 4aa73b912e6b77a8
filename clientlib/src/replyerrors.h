#pragma once

#include "callname.h"

#include <switchboard/protocol/envelope.h>

#include <chrono>
#include <exception>
#include <string_view>

// The exceptions a call ends with, built in one place so that every path (blocking, streaming,
// asynchronous) words them alike.
namespace switchboard::detail {

// WorkerLost and BrokerShutdown: the request was taken and its answer lost, so an idempotent
// call may send it again.
bool isRetryable(const rpc::ErrorInfo& error) noexcept;

// The exception for an error reply (status 0x01): the broker's own error types map to their
// classes, everything else is a RemoteError. `attempts` counts the requests sent; `broker` is
// the endpoint of the broker that answered, named where the broker is what failed.
std::exception_ptr replyError(const CallName& name, const rpc::ErrorInfo& error, int attempts,
                              std::string_view broker);

// TimeoutError: nothing arrived within `timeout`. `awaited` is "reply" or "item".
std::exception_ptr timeoutError(const CallName& name, std::chrono::milliseconds timeout,
                                int attempts, std::string_view awaited = "reply");

// ConnectionLost: the connection to `broker` (its endpoint) dropped while the request was in
// flight there.
std::exception_ptr connectionLost(const CallName& name, int attempts, std::string_view broker);

// ConnectionLost: the Client was destroyed before the call ended.
std::exception_ptr clientDestroyed(const CallName& name);
std::exception_ptr authenticationRefused(const CallName& name);

} // namespace switchboard::detail
