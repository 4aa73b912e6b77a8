#include "replyerrors.h"

#include <switchboard/client.h>
#include <switchboard/errors.h>

#include <algorithm>
#include <sstream>
#include <string>

namespace switchboard::detail {

namespace {

namespace errortype = rpc::errortype;

std::string attemptsSuffix(int attempts)
{
    return attempts > 1 ? " (" + std::to_string(attempts) + " attempts)" : std::string();
}

constexpr std::string_view kMayHaveRun = "; the request may have run";

// A glimpse of a value for an error text, so that a mismatch can be seen without a debugger.
// msgpack's own operator<< recurses without bound and prints everything; a hostile payload
// nested a million deep must not overflow the stack here.
void show(const msgpack::object& value, int depth, std::string& out)
{
    constexpr std::size_t kMaxShown = 80;
    constexpr int kMaxDepth = 4;
    if (out.size() > kMaxShown) {
        return;
    }
    switch (value.type) {
    case msgpack::type::NIL:
        out += "nil";
        break;
    case msgpack::type::BOOLEAN:
        out += value.via.boolean ? "true" : "false";
        break;
    case msgpack::type::POSITIVE_INTEGER:
        out += std::to_string(value.via.u64);
        break;
    case msgpack::type::NEGATIVE_INTEGER:
        out += std::to_string(value.via.i64);
        break;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: {
        std::ostringstream text;
        text << value.via.f64;
        out += text.str();
        break;
    }
    case msgpack::type::STR:
        out += '"';
        out.append(value.via.str.ptr, std::min<std::size_t>(value.via.str.size, kMaxShown));
        out += '"';
        break;
    case msgpack::type::BIN:
        out += "<" + std::to_string(value.via.bin.size) + " bytes>";
        break;
    case msgpack::type::EXT:
        out += "<extension>";
        break;
    case msgpack::type::ARRAY:
        if (depth >= kMaxDepth) {
            out += "[...]";
            break;
        }
        out += '[';
        for (std::uint32_t i = 0; i < value.via.array.size && out.size() <= kMaxShown; ++i) {
            out += i > 0 ? ", " : "";
            show(value.via.array.ptr[i], depth + 1, out);
        }
        out += ']';
        break;
    case msgpack::type::MAP:
        if (depth >= kMaxDepth) {
            out += "{...}";
            break;
        }
        out += '{';
        for (std::uint32_t i = 0; i < value.via.map.size && out.size() <= kMaxShown; ++i) {
            out += i > 0 ? ", " : "";
            show(value.via.map.ptr[i].key, depth + 1, out);
            out += ": ";
            show(value.via.map.ptr[i].val, depth + 1, out);
        }
        out += '}';
        break;
    }
    if (depth == 0 && out.size() > kMaxShown) {
        out.resize(kMaxShown);
        out += "...";
    }
}

} // namespace

bool isRetryable(const rpc::ErrorInfo& error) noexcept
{
    return error.type == errortype::kWorkerLost || error.type == errortype::kBrokerShutdown;
}

std::exception_ptr replyError(const CallName& name, const rpc::ErrorInfo& error, int attempts,
                              std::string_view broker)
{
    const std::string suffix = attemptsSuffix(attempts);
    // The broker's messages say what happened in full ("no worker for service 'calc' within
    // 2000 ms"), and the class names the kind; a worker's error needs its type in the text.
    const std::string brokerText = name.describe(error.message) + suffix;
    if (error.type == errortype::kServiceUnavailable) {
        return std::make_exception_ptr(ServiceUnavailable(brokerText));
    }
    if (error.type == errortype::kQueueFull) {
        return std::make_exception_ptr(QueueFull(brokerText));
    }
    if (error.type == errortype::kExpired) {
        return std::make_exception_ptr(TimeoutError(brokerText));
    }
    if (error.type == errortype::kWorkerLost) {
        return std::make_exception_ptr(
            WorkerLost(name.describe(error.message + std::string(kMayHaveRun)) + suffix));
    }
    if (error.type == errortype::kBrokerShutdown) {
        return std::make_exception_ptr(
            ConnectionLost(name.describe(error.message + " (" + std::string(broker) + ")" +
                                         std::string(kMayHaveRun)) +
                           suffix));
    }
    return std::make_exception_ptr(
        RemoteError(name.describe(error.type + ": " + error.message) + suffix, error.type,
                    error.message, error.detail));
}

std::exception_ptr timeoutError(const CallName& name, std::chrono::milliseconds timeout,
                                int attempts, std::string_view awaited)
{
    return std::make_exception_ptr(TimeoutError(
        name.describe("no " + std::string(awaited) + " within " + std::to_string(timeout.count()) +
                      " ms" + attemptsSuffix(attempts))));
}

std::exception_ptr connectionLost(const CallName& name, int attempts, std::string_view broker)
{
    return std::make_exception_ptr(ConnectionLost(
        name.describe("connection to the broker at " + std::string(broker) +
                      " lost while the request was in flight" + std::string(kMayHaveRun)) +
        attemptsSuffix(attempts)));
}

std::exception_ptr authenticationRefused(const CallName& name)
{
    return std::make_exception_ptr(AuthenticationError(
        name.describe("the broker refused the connection's handshake (with CURVE: this "
                      "client's public key is not authorized there, or the server key is not "
                      "the broker's; without: the broker requires CURVE); nothing was sent")));
}

std::exception_ptr clientDestroyed(const CallName& name)
{
    return std::make_exception_ptr(ConnectionLost(name.describe("client destroyed")));
}

void throwDecodeError(std::string_view service, std::string_view method,
                      const std::string& expected, const msgpack::object& got, const char* reason)
{
    std::string value;
    show(got, 0, value);
    std::string text = "cannot decode the reply as " + expected + ": got " +
                       std::string(rpc::describeType(got.type)) +
                       (got.type == msgpack::type::NIL ? std::string() : " " + value);
    const std::string_view why = reason != nullptr ? reason : "";
    if (!why.empty() && why != "std::bad_cast") {
        text += " (" + std::string(why) + ")";
    }
    throw DecodeError(CallName{service, method}.describe(text));
}

} // namespace switchboard::detail
