#pragma once

#include <switchboard/protocol/curvekey.h>
#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/error.h>
#include <switchboard/protocol/mdp.h>
#include <switchboard/protocol/payload.h>

#include <zmq.hpp>

#include <msgpack.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace switchboard {

// The reserved method every worker answers with a description of itself (see describe()).
// Handlers may not use the "switchboard." prefix.
inline constexpr std::string_view kDescribeMethod = rpc::kDescribeMethod;

struct WorkerOptions {
    // Handler threads: how many requests run at once. With threads > 1 the same handler may run
    // on several threads at once. 1 to 1024.
    int threads = 1;
    // How many requests the worker holds at once, running or received and waiting for a free
    // thread: from `threads` to 1024 (mdp::kMaxWorkerCredit). Unset: `threads`, so that
    // `threads = 4` alone serves four requests at once. Above `threads`, requests wait in the
    // worker and a thread that returns takes the next one at once, while answers and new
    // requests travel: one thread with maxInFlight 32 does not wait a broker round trip between
    // requests as long as the broker has work for it.
    //
    // The worker holds one MDP session per broker, whatever these two say. With a capacity
    // of 1 (the default) its READY is plain MDP, as before; above 1 the READY carries the credit
    // extension "credit=N" (docs/PROTOCOL.md 11.1): a broker that knows it sends up to N
    // requests at once, and its monitor shows one worker of capacity N. A broker that ignores the
    // extension sends one request at a time, which the worker serves as any MDP worker. A strict
    // MDP broker that answers that READY with DISCONNECT before any request or heartbeat gets a
    // plain READY on the next attempt, and the worker serves one request at a time from then on;
    // `log` says so once.
    //
    // On several brokers both limits hold for the worker as a whole: at most `threads` handlers
    // run and at most maxInFlight requests are held at once, whichever brokers sent them. Every
    // session's READY then carries "credit=N" (even for N = 1), and a request that arrives while
    // the worker holds N already is handed back with DECLINE (docs/PROTOCOL.md 11.2), so that its
    // broker gives it to another worker rather than let it wait here; once the worker has room
    // again, every broker declined to since gets a HEARTBEAT, which lets it send again. A broker
    // that refused the credit extension cannot be declined to: its requests (one at a time) are
    // held even beyond maxInFlight and may wait here while the worker is busy.
    std::optional<int> maxInFlight;
    // Heartbeat interval and liveness, as the broker's: the broker counts as gone after
    // `liveness` intervals without a word from it, and the session reconnects.
    std::chrono::milliseconds heartbeatInterval{2500};
    int liveness = 3;
    // Reconnect backoff: the first wait, doubled after every failed attempt up to the maximum.
    std::chrono::milliseconds reconnectMin{100};
    std::chrono::milliseconds reconnectMax{5000};
    // On several brokers: how often their host names are resolved again. A broker that appears
    // gets a session; one that disappears from its name has what it holds answered, then
    // DISCONNECT. Positive. The lookups run on a thread of their own, so a slow name server
    // never delays requests or heartbeats; wait() after stop() waits for one in progress.
    std::chrono::milliseconds resolveInterval{10000};
    // Add detail to remote errors: demangled exception type, worker identity and session,
    // service.method, and a stack trace (glibc backtrace()). C++ records no throw site, so the
    // trace shows where the library caught the exception, i.e. the handler call; functions of
    // the executable itself have names only when it exports them (-rdynamic, ENABLE_EXPORTS).
    bool verboseErrors = false;
    // 18/MDP (needed for streaming handlers) or 7/MDP for brokers that only speak 0.1.
    mdp::Version protocol = mdp::Version::V02;
    // Names this worker in describe() and in verbose errors. Empty: "host:pid". When set, it is
    // also the ZeroMQ routing id the broker (and its monitor) knows the worker by, with "#N"
    // added after the first reconnect; it must then be unique among the broker's workers (a
    // second worker with the same one is not let in) and 1 to 240 bytes.
    std::string identity;
    // CURVE (docs/SECURITY.md): the broker's public key and this worker's key pair, Z85 text;
    // curve::ClientCredentials::fromFiles() reads them from key files. Empty: no CURVE. A worker
    // whose key the broker refuses is never registered; it keeps retrying with its backoff, and
    // the broker logs and counts each refusal (BrokerCounters::curveRefused).
    curve::ClientCredentials curve;
    // What the worker has to tell its user and no caller can be told: today only that the broker
    // refused the credit extension (see maxInFlight). Called on one of the worker's threads,
    // once per event; it must not block. Empty: one line on stderr.
    std::function<void(std::string_view message)> log;
};

// A handler's way to tell its caller that the request itself is wrong. The client receives a
// RemoteError of type "TypeError" with this message. The library throws it when the arguments
// do not match the handler's signature.
class TypeError : public Error {
public:
    using Error::Error;
};

namespace detail {
class WorkerCore;

// Where a streaming handler's items go: one 18/MDP PARTIAL each.
class ItemSink {
public:
    virtual ~ItemSink() = default;
    virtual void send(zmq::message_t item) = 0;
};
} // namespace detail

// Handed to a streaming handler: each write() sends one item to the caller at once.
class StreamWriter {
public:
    explicit StreamWriter(detail::ItemSink& sink)
        : m_sink(sink)
    {}

    // Throws switchboard::Error when the session to the broker was lost mid-stream.
    template <typename T>
    void write(const T& item)
    {
        msgpack::sbuffer buffer;
        msgpack::pack(buffer, item);
        const std::size_t size = buffer.size();
        m_sink.send(
            zmq::message_t(buffer.release(), size, [](void* data, void*) { std::free(data); }));
        ++m_written;
    }
    std::size_t written() const noexcept { return m_written; }

private:
    detail::ItemSink& m_sink;
    std::size_t m_written = 0;
};

namespace detail {

// A handler's signature, from a plain function, a function pointer, a member function or a
// lambda / function object with exactly one operator().
template <typename F>
struct Signature : Signature<decltype(&F::operator())> {};
template <typename R, typename... A>
struct Signature<R (*)(A...)> {
    using Result = R;
    using Args = std::tuple<std::remove_cvref_t<A>...>;
};
template <typename R, typename... A>
struct Signature<R(A...)> : Signature<R (*)(A...)> {};
template <typename R, typename C, typename... A>
struct Signature<R (C::*)(A...)> : Signature<R (*)(A...)> {};
template <typename R, typename C, typename... A>
struct Signature<R (C::*)(A...) const> : Signature<R (*)(A...)> {};
template <typename R, typename C, typename... A>
struct Signature<R (C::*)(A...) noexcept> : Signature<R (*)(A...)> {};
template <typename R, typename C, typename... A>
struct Signature<R (C::*)(A...) const noexcept> : Signature<R (*)(A...)> {};
template <typename R, typename... A>
struct Signature<R (*)(A...) noexcept> : Signature<R (*)(A...)> {};

template <typename Tuple>
struct TupleTail;
template <typename Head, typename... Tail>
struct TupleTail<std::tuple<Head, Tail...>> {
    using Type = std::tuple<Tail...>;
};

// What describe() reports of one method.
struct MethodInfo {
    std::string name;
    std::vector<std::string> argTypes;
    std::string resultType; // the item type for streaming methods, "nil" for void
    bool streaming = false;
};

// A registered method: the packed result of a unary call, or items written to a StreamWriter.
struct Handler {
    MethodInfo info;
    std::function<zmq::message_t(const msgpack::object& args)> unary;
    std::function<void(const msgpack::object& args, StreamWriter& out)> streaming;
};

template <typename Tuple>
struct ArgTypeNames;
template <typename... A>
struct ArgTypeNames<std::tuple<A...>> {
    // Built once per signature: the argument check reads it on every call.
    static const std::vector<std::string>& get()
    {
        static const std::vector<std::string> names{rpc::typeName<A>()...};
        return names;
    }
};

[[noreturn]] void throwArgCountError(const msgpack::object& args,
                                     const std::vector<std::string>& argTypes,
                                     std::string_view method);

// Throws TypeError unless `args` is an array of exactly `argTypes.size()` elements; the text
// names the expected types ("add_one() takes 1 argument (int), got 2").
inline void checkArgCount(const msgpack::object& args, const std::vector<std::string>& argTypes,
                          std::string_view method)
{
    if (args.type != msgpack::type::ARRAY || args.via.array.size != argTypes.size()) {
        [[unlikely]] throwArgCountError(args, argTypes, method);
    }
}
// Throws TypeError for argument `index` (0-based; the text counts from 1) that did not convert
// to `expected` ("add_one() argument 1: expected int, got a string").
[[noreturn]] void throwArgTypeError(std::string_view method, std::size_t index,
                                    const std::string& expected, const msgpack::object& got);

template <typename T>
T argAs(const msgpack::object& arg, std::size_t index, std::string_view method)
{
    try {
        return arg.as<T>();
    } catch (const msgpack::type_error&) {
        throwArgTypeError(method, index, rpc::typeName<T>(), arg);
    }
}

template <typename ArgsTuple, std::size_t... I>
ArgsTuple convertArgs(const msgpack::object& args, std::string_view method,
                      std::index_sequence<I...>)
{
    checkArgCount(args, ArgTypeNames<ArgsTuple>::get(), method);
    return ArgsTuple{
        argAs<std::tuple_element_t<I, ArgsTuple>>(args.via.array.ptr[I], I, method)...};
}

template <typename ArgsTuple>
ArgsTuple convertArgs(const msgpack::object& args, std::string_view method)
{
    return convertArgs<ArgsTuple>(args, method,
                                  std::make_index_sequence<std::tuple_size_v<ArgsTuple>>{});
}

template <typename T>
zmq::message_t packResult(const T& value)
{
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, value);
    const std::size_t size = buffer.size();
    return zmq::message_t(buffer.release(), size, [](void* data, void*) { std::free(data); });
}

zmq::message_t packNil();

} // namespace detail

// A worker for one service: register handlers, then run() (blocking) or start() (background).
//
//   Worker worker("tcp://127.0.0.1:5556", "calc");
//   worker.handle("add_one", [](int n) { return n + 1; });
//   worker.run();
//
// Handlers run on the worker's own threads (`threads` of them), each request on one thread; with
// threads > 1 the same handler may run on several threads at once. The worker holds up to
// `maxInFlight` requests through one session with the broker (see WorkerOptions), or with each of
// several brokers: one session per broker, each with its own heartbeats and reconnects, sharing
// `threads` and `maxInFlight`. With one thread handlers never run at once, though on several
// brokers not always on the same thread.
// Heartbeats are kept by the library while a handler runs, however long it blocks. An exception
// from a handler becomes a RemoteError on the client with the exception's type and message;
// nothing of the worker stops.
class Worker {
public:
    // Throws zmq::error_t for an endpoint libzmq rejects and std::invalid_argument for an
    // invalid service name or options (threads outside 1..1024, maxInFlight outside
    // threads..1024, ...).
    Worker(std::string brokerEndpoint, std::string service, WorkerOptions options = {});
    Worker(zmq::context_t& context, std::string brokerEndpoint, std::string service,
           WorkerOptions options = {});
    // A worker on several live brokers at once, as switchboard::BrokerEndpoints finds them: each
    // endpoint listed, and one broker per address of a tcp:// host name, resolved again every
    // WorkerOptions::resolveInterval. One session per broker; a broker that dies is reconnected
    // to with backoff while the others are served on. One endpoint that is not a host name is
    // the same as the constructors above. Throws as they do, and std::invalid_argument for an
    // empty list, an empty endpoint or a tcp:// endpoint without a port.
    Worker(std::vector<std::string> brokerEndpoints, std::string service,
           WorkerOptions options = {});
    Worker(zmq::context_t& context, std::vector<std::string> brokerEndpoints, std::string service,
           WorkerOptions options = {});
    // Worker({"tcp://a:5556", "tcp://b:5556"}, "calc"): without these, a braced pair of string
    // literals would also read as std::string's (first, last) constructor, and not compile.
    Worker(std::initializer_list<std::string> brokerEndpoints, std::string service,
           WorkerOptions options = {})
        : Worker(std::vector<std::string>(brokerEndpoints), std::move(service), std::move(options))
    {}
    Worker(zmq::context_t& context, std::initializer_list<std::string> brokerEndpoints,
           std::string service, WorkerOptions options = {})
        : Worker(context, std::vector<std::string>(brokerEndpoints), std::move(service),
                 std::move(options))
    {}
    // stop(), then waits for the threads.
    ~Worker();

    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Registers `function` (free function, lambda, function object) as `method`. Its parameters
    // are decoded from the request's arguments with msgpack; a call with the wrong number or
    // types of arguments is answered with a TypeError saying which. Its result is packed with
    // msgpack (void: nil). Throws std::invalid_argument for a reserved ("switchboard."),
    // repeated or invalid (empty, over 255 bytes, control characters) name, and
    // std::logic_error once the worker has started.
    template <typename F>
    Worker& handle(std::string method, F function)
    {
        using Sig = detail::Signature<std::remove_cvref_t<F>>;
        using Args = typename Sig::Args;
        using Result = typename Sig::Result;
        detail::Handler handler;
        handler.info = {method, detail::ArgTypeNames<Args>::get(), rpc::typeName<Result>(), false};
        handler.unary = [function = std::move(function),
                         method](const msgpack::object& args) mutable -> zmq::message_t {
            auto converted = detail::convertArgs<Args>(args, method);
            if constexpr (std::is_void_v<Result>) {
                std::apply(function, std::move(converted));
                return detail::packNil();
            } else {
                return detail::packResult(std::apply(function, std::move(converted)));
            }
        };
        addHandler(std::move(handler));
        return *this;
    }

    // A member function called on `object`, which must outlive the worker.
    template <typename C, typename M>
    requires std::is_member_function_pointer_v<M> Worker& handle(std::string method,
                                                                 M memberFunction, C* object)
    {
        using Sig = detail::Signature<M>;
        using Args = typename Sig::Args;
        using Result = typename Sig::Result;
        detail::Handler handler;
        handler.info = {method, detail::ArgTypeNames<Args>::get(), rpc::typeName<Result>(), false};
        handler.unary = [memberFunction, object,
                         method](const msgpack::object& args) -> zmq::message_t {
            auto converted = detail::convertArgs<Args>(args, method);
            auto call = [&](auto&&... a) { return (object->*memberFunction)(std::move(a)...); };
            if constexpr (std::is_void_v<Result>) {
                std::apply(call, std::move(converted));
                return detail::packNil();
            } else {
                return detail::packResult(std::apply(call, std::move(converted)));
            }
        };
        addHandler(std::move(handler));
        return *this;
    }

    // Registers a streaming method: `function(StreamWriter& out, args...)` writes items one by
    // one; returning ends the stream, throwing ends it with a RemoteError after the items
    // already written. `Item` names the item type for describe(). Needs 18/MDP.
    template <typename Item = msgpack::object, typename F>
    Worker& handleStream(std::string method, F function)
    {
        using Sig = detail::Signature<std::remove_cvref_t<F>>;
        using Args = typename detail::TupleTail<typename Sig::Args>::Type;
        detail::Handler handler;
        handler.info = {method, detail::ArgTypeNames<Args>::get(), rpc::typeName<Item>(), true};
        handler.streaming = [function = std::move(function), method](const msgpack::object& args,
                                                                     StreamWriter& out) mutable {
            std::apply([&](auto&&... a) { function(out, std::move(a)...); },
                       detail::convertArgs<Args>(args, method));
        };
        addHandler(std::move(handler));
        return *this;
    }

    // Serves until stop() is called: connects, registers with READY, answers requests and
    // reconnects with backoff whenever the broker goes away. Throws std::logic_error when
    // already running. A stopped worker stays stopped: run() after stop() returns at once.
    void run();
    // run() on background threads; returns at once. Throws std::logic_error when already
    // running.
    void start();
    // Thread-safe, callable from a handler, and also before start(). Answers every request
    // already received (running, or waiting for a thread), sends DISCONNECT to every broker, then
    // run() returns. On several brokers a request that comes after the stop is declined.
    // A request the broker sends after that point is not served: the DISCONNECT tells the
    // broker, which answers it WorkerLost or, if idempotent, gives it to another worker. Not
    // async-signal-safe: from a signal, use a thread that waits for the signal (see
    // examples/calculator).
    void stop();
    // Blocks until the worker has stopped (after start(); returns at once if it never started).
    // Throws std::logic_error when called from a handler, whose thread it would wait for.
    void wait();

    const std::string& service() const noexcept;
    const std::string& identity() const noexcept;
    // What the reserved method answers: {"service", "worker", "version", "methods": [{"name",
    // "args": [type names], "returns": type name, "streaming": bool}]}, packed with msgpack.
    zmq::message_t describe() const;

    // The untyped registration the templates wrap.
    void addHandler(detail::Handler handler);

private:
    std::unique_ptr<detail::WorkerCore> m_core;
};

} // namespace switchboard
