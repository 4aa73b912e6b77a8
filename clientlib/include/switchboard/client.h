#pragma once

#include <switchboard/errors.h>
#include <switchboard/protocol/curvekey.h>
#include <switchboard/protocol/payload.h>

#include <zmq.hpp>

#include <msgpack.hpp>

#include <chrono>
#include <concepts>
#include <exception>
#include <functional>
#include <future>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace switchboard {

struct ClientOptions {
    // Deadline of a call that sets none itself, retries included.
    std::chrono::milliseconds timeout{10000};
    // Extra attempts for an idempotent call whose reply was lost (WorkerLost, ConnectionLost).
    int maxRetries = 3;
    // Wait before the first retry; doubles with every further retry, capped at 1 s.
    std::chrono::milliseconds retryBackoff{50};
    // How long a silent connection to the broker may live before it counts as lost (ZMTP
    // heartbeats, so a broker that vanished without closing the connection is noticed too).
    std::chrono::milliseconds connectionTimeout{3000};
    // How often a broker endpoint that names a host is resolved again, so that brokers that
    // appear behind the name get calls and ones that vanish stop getting them. Zero: never.
    std::chrono::milliseconds resolveInterval{10000};
    // CURVE (docs/SECURITY.md): the broker's public key and this client's key pair, Z85 text;
    // curve::ClientCredentials::fromFiles() reads them from key files. Empty: no CURVE. The
    // Client constructor throws curve::KeyError for a malformed key; a key the broker refuses
    // fails calls with AuthenticationError.
    curve::ClientCredentials curve;
};

struct CallOptions {
    // Overrides ClientOptions::timeout for this call.
    std::optional<std::chrono::milliseconds> timeout;
    // The method may safely run twice: a lost reply is retried instead of reported. Calls that
    // are not idempotent are never sent twice.
    bool idempotent = false;
};

// A finished asynchronous call as a callback receives it: a value, or the error that ended it.
template <typename R>
class CallResult {
public:
    explicit CallResult(R value)
        : m_value(std::move(value))
    {}
    explicit CallResult(std::exception_ptr error)
        : m_error(std::move(error))
    {}

    bool ok() const noexcept { return !m_error; }
    // The value; rethrows the call's error when there is none.
    R& value()
    {
        if (m_error) {
            std::rethrow_exception(m_error);
        }
        // value(), not *: GCC cannot tell that a result without an error has a value, and
        // warns (-Wmaybe-uninitialized) in callers' code about the unchecked dereference.
        return m_value.value();
    }
    std::exception_ptr error() const noexcept { return m_error; }

private:
    std::optional<R> m_value;
    std::exception_ptr m_error;
};

template <>
class CallResult<void> {
public:
    CallResult() = default;
    explicit CallResult(std::exception_ptr error)
        : m_error(std::move(error))
    {}
    bool ok() const noexcept { return !m_error; }
    void value() const
    {
        if (m_error) {
            std::rethrow_exception(m_error);
        }
    }
    std::exception_ptr error() const noexcept { return m_error; }

private:
    std::exception_ptr m_error;
};

namespace detail {

class ClientCore;

// One call as the templates hand it to the library: args are already packed.
struct CallRequest {
    std::string_view service;
    std::string_view method;
    zmq::message_t args; // a msgpack array
    CallOptions options;
};

// Where a stream's items come from. next() blocks for the next item, returns nullopt at the
// end of the stream and throws the error that ended it early.
class StreamSource {
public:
    virtual ~StreamSource() = default;
    virtual std::optional<msgpack::object_handle> next() = 0;
};

template <typename... Args>
zmq::message_t packArgs(const Args&... args)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_array(static_cast<std::uint32_t>(sizeof...(Args)));
    (packer.pack(args), ...);
    const std::size_t size = buffer.size();
    return zmq::message_t(buffer.release(), size, [](void* data, void*) { std::free(data); });
}

[[noreturn]] void throwDecodeError(std::string_view service, std::string_view method,
                                   const std::string& expected, const msgpack::object& got,
                                   const char* reason);

template <typename R>
R decodeAs(msgpack::object_handle&& handle, std::string_view service, std::string_view method)
{
    if constexpr (std::is_same_v<R, msgpack::object_handle>) {
        return std::move(handle);
    } else if constexpr (std::is_void_v<R>) {
        (void)handle;
    } else {
        try {
            return handle.get().as<R>();
        } catch (const msgpack::type_error& error) {
            throwDecodeError(service, method, rpc::typeName<R>(), handle.get(), error.what());
        }
    }
}

} // namespace detail

// The items of one streamed call, in the order the worker wrote them. Iterate it once:
//   for (int item : client.stream<int>("calc", "count", 3)) ...
// An error in the middle of the stream is thrown where the iteration reaches it. A Stream holds
// one of its Client's connections until it is destroyed, which must happen before the Client's.
template <typename T>
class Stream {
public:
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = T*;
        using reference = T&;

        iterator() = default;
        T& operator*() { return *m_stream->m_current; }
        T* operator->() { return &*m_stream->m_current; }
        iterator& operator++()
        {
            m_stream->advance();
            return *this;
        }
        void operator++(int) { ++*this; }
        bool operator==(std::default_sentinel_t) const { return !m_stream->m_current; }

    private:
        friend class Stream;
        explicit iterator(Stream* stream)
            : m_stream(stream)
        {}
        Stream* m_stream = nullptr;
    };

    Stream(std::unique_ptr<detail::StreamSource> source, std::string service, std::string method)
        : m_source(std::move(source))
        , m_service(std::move(service))
        , m_method(std::move(method))
    {}

    // Fetches the first item, so errors before it are thrown here.
    iterator begin()
    {
        if (!m_started) {
            m_started = true;
            advance();
        }
        return iterator(this);
    }
    std::default_sentinel_t end() const { return {}; }

    // The next item, or nullopt once the stream has ended. Throws the stream's error.
    std::optional<T> next()
    {
        m_started = true;
        advance();
        return std::move(m_current);
    }

private:
    void advance()
    {
        m_current.reset();
        if (auto item = m_source->next()) {
            m_current = detail::decodeAs<T>(std::move(*item), m_service, m_method);
        }
    }

    std::unique_ptr<detail::StreamSource> m_source;
    std::string m_service;
    std::string m_method;
    std::optional<T> m_current;
    bool m_started = false;
};

// Connections to one or several Switchboard (or any 18/MDP) brokers' client endpoints.
//
// Thread-safe: any number of threads may call one Client at once. Blocking calls run on the
// calling thread (each borrows a socket of its own from a pool), so a call costs no thread
// hand-off; asynchronous calls and callbacks are served by one internal I/O thread. Nothing
// needs an event loop. A broker may restart: sockets reconnect by themselves.
//
// With several brokers, each request goes to the live broker with the fewest of this client's
// requests in flight (ties in turn); brokers not connected yet come next, and a broker whose
// connection dropped only when no other is left. While none is up yet (just after
// construction), a call waits for the first handshake rather than queue at an absent broker. When a
// broker's connection drops (or it stops answering heartbeats, ClientOptions::connectionTimeout),
// idempotent calls in flight there are retried on another broker; the others end with
// ConnectionLost. A broker that comes back gets calls again.
class Client {
public:
    // Connects lazily: constructing never fails for an absent broker, and only waits for DNS
    // when the endpoint names a host (which then counts as several brokers when it resolves
    // to several addresses, as below). Throws zmq::error_t for an endpoint libzmq rejects
    // ("tcp://nohost").
    explicit Client(std::string brokerEndpoint, ClientOptions options = {});
    // Shares the caller's context, which inproc:// endpoints need.
    Client(zmq::context_t& context, std::string brokerEndpoint, ClientOptions options = {});
    // Spreads calls over several brokers. An endpoint whose host name resolves to several
    // addresses counts as one broker per address (resolved here, which may wait for DNS, and
    // again every ClientOptions::resolveInterval). With more than one broker the I/O thread
    // starts here, to watch every broker's connection. Throws as above, and
    // std::invalid_argument for an empty list.
    explicit Client(std::vector<std::string> brokerEndpoints, ClientOptions options = {});
    Client(zmq::context_t& context, std::vector<std::string> brokerEndpoints,
           ClientOptions options = {});
    // Client({"tcp://a:5555", "tcp://b:5555"}): without these, such a list could also be
    // read as the two iterators of one std::string.
    Client(std::initializer_list<std::string> brokerEndpoints, ClientOptions options = {});
    Client(zmq::context_t& context, std::initializer_list<std::string> brokerEndpoints,
           ClientOptions options = {});
    // Pending asynchronous calls end with ConnectionLost ("client destroyed"). No other thread
    // may be inside a call of this client any more.
    ~Client();

    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Calls `method` of `service` with `args` (each packed with msgpack) and returns the result
    // decoded as R (R = msgpack::object_handle returns it undecoded, R = void ignores it).
    // Throws TimeoutError, ServiceUnavailable, QueueFull, WorkerLost, ConnectionLost,
    // RemoteError, DecodeError or ProtocolError.
    template <typename R = msgpack::object_handle, typename... Args>
    R call(std::string_view service, std::string_view method, const Args&... args)
    {
        return call<R>(CallOptions{}, service, method, args...);
    }

    template <typename R = msgpack::object_handle, typename... Args>
    R call(const CallOptions& options, std::string_view service, std::string_view method,
           const Args&... args)
    {
        return detail::decodeAs<R>(
            callPacked({service, method, detail::packArgs(args...), options}), service, method);
    }

    // The same call without blocking: the future holds the result or the error call() throws.
    template <typename R = msgpack::object_handle, typename... Args>
    std::future<R> callAsync(std::string_view service, std::string_view method, const Args&... args)
    {
        return callAsync<R>(CallOptions{}, service, method, args...);
    }

    template <typename R = msgpack::object_handle, typename... Args>
    std::future<R> callAsync(const CallOptions& options, std::string_view service,
                             std::string_view method, const Args&... args)
    {
        auto promise = std::make_shared<std::promise<R>>();
        std::future<R> future = promise->get_future();
        callThen<R>(
            options,
            [promise](CallResult<R> result) {
                if (!result.ok()) {
                    promise->set_exception(result.error());
                } else if constexpr (std::is_void_v<R>) {
                    promise->set_value();
                } else {
                    promise->set_value(std::move(result.value()));
                }
            },
            service, method, args...);
        return future;
    }

    // The callback form: `onDone(CallResult<R>)` runs once, on the client's I/O thread, when
    // the call ends. It must not block for long; it may start further calls.
    template <typename R = msgpack::object_handle, typename OnDone, typename... Args>
    requires std::invocable<OnDone&, CallResult<R>>
    void callThen(const CallOptions& options, OnDone onDone, std::string_view service,
                  std::string_view method, const Args&... args)
    {
        callPackedAsync({service, method, detail::packArgs(args...), options},
                        [onDone = std::move(onDone), service = std::string(service),
                         method = std::string(method)](msgpack::object_handle* reply,
                                                       std::exception_ptr error) mutable {
                            if (error) {
                                onDone(CallResult<R>(std::move(error)));
                                return;
                            }
                            try {
                                if constexpr (std::is_void_v<R>) {
                                    onDone(CallResult<void>());
                                } else {
                                    onDone(CallResult<R>(
                                        detail::decodeAs<R>(std::move(*reply), service, method)));
                                }
                            } catch (const DecodeError&) {
                                onDone(CallResult<R>(std::current_exception()));
                            }
                        });
    }

    // Calls a streaming method (an 18/MDP worker answering with PARTIALs and a FINAL). The
    // timeout applies to the wait for each item. A stream stays with the one broker picked for
    // it and is never retried.
    template <typename T = msgpack::object_handle, typename... Args>
    Stream<T> stream(std::string_view service, std::string_view method, const Args&... args)
    {
        return stream<T>(CallOptions{}, service, method, args...);
    }

    template <typename T = msgpack::object_handle, typename... Args>
    Stream<T> stream(const CallOptions& options, std::string_view service, std::string_view method,
                     const Args&... args)
    {
        return Stream<T>(openStream({service, method, detail::packArgs(args...), options}),
                         std::string(service), std::string(method));
    }

    // The first configured broker endpoint.
    const std::string& endpoint() const noexcept;
    // The broker endpoints as configured (host names unresolved).
    const std::vector<std::string>& endpoints() const noexcept;
    const ClientOptions& options() const noexcept;

    // The untyped calls the templates above wrap.
    msgpack::object_handle callPacked(detail::CallRequest request);
    // `onDone` gets the reply, or a null reply and the error. Runs on the I/O thread.
    void callPackedAsync(
        detail::CallRequest request,
        std::function<void(msgpack::object_handle* reply, std::exception_ptr error)> onDone);
    std::unique_ptr<detail::StreamSource> openStream(detail::CallRequest request);

private:
    std::unique_ptr<detail::ClientCore> m_core;
};

} // namespace switchboard
