#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/payload.h>

#include <switchboard/protocol/error.h>

#include "bytetext.h"

#include <msgpack.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include <optional>
#include <sstream>

namespace switchboard::rpc {

namespace {

using bytetext::byteCount;
using bytetext::frameRef;
using bytetext::hexByte;

[[noreturn, gnu::cold]] void fail(ProtocolErrorKind kind, const std::string& text)
{
    throw ProtocolError(kind, "RPC " + text);
}

// Walks one msgpack object without building it. msgpack::unpack would allocate the elements an
// array or map header announces before checking they are there, so a 5-byte frame "dd ff ff ff
// ff" (array32 of 2^32-1 elements) costs it ~96 GiB and ends in std::bad_alloc; nested headers
// make that quadratic in the frame size. This visitor allocates nothing per element, so frames
// from the network are checked first and only proven-complete objects are ever unpacked.
class MsgpackShape : public msgpack::null_visitor {
public:
    enum class Problem : std::uint8_t { None, Truncated, Malformed, TooDeep };

    explicit MsgpackShape(std::size_t maxDepth)
        : m_maxDepth(maxDepth)
    {}

    // Walks `bytes`; problem(), type() and trailingBytes() then tell whether they hold exactly
    // one msgpack object, and of which type.
    void check(std::string_view bytes)
    {
        std::size_t offset = 0;
        bool complete = false;
        try {
            complete = msgpack::parse(bytes.data(), bytes.size(), offset, *this);
        } catch (const msgpack::unpack_error&) {
            // The parser throws for an ext32 of size 2^32-1; everything else it reports.
            m_problem = Problem::Malformed;
            return;
        }
        if (complete && offset != bytes.size()) {
            m_trailingBytes = bytes.size() - offset;
        } else if (!complete && m_problem == Problem::None) {
            m_problem = Problem::Malformed;
        }
    }

    Problem problem() const noexcept { return m_problem; }
    std::size_t trailingBytes() const noexcept { return m_trailingBytes; }
    std::optional<msgpack::type::object_type> type() const noexcept { return m_type; }

    // Visitor interface: record the outermost type, bound the depth.
    bool visit_nil() { return scalar(msgpack::type::NIL); }
    bool visit_boolean(bool) { return scalar(msgpack::type::BOOLEAN); }
    bool visit_positive_integer(std::uint64_t) { return scalar(msgpack::type::POSITIVE_INTEGER); }
    bool visit_negative_integer(std::int64_t) { return scalar(msgpack::type::NEGATIVE_INTEGER); }
    bool visit_float32(float) { return scalar(msgpack::type::FLOAT32); }
    bool visit_float64(double) { return scalar(msgpack::type::FLOAT64); }
    bool visit_str(const char*, std::uint32_t) { return scalar(msgpack::type::STR); }
    bool visit_bin(const char*, std::uint32_t) { return scalar(msgpack::type::BIN); }
    bool visit_ext(const char*, std::uint32_t) { return scalar(msgpack::type::EXT); }
    bool start_array(std::uint32_t) { return enter(msgpack::type::ARRAY); }
    bool end_array() { return leave(); }
    bool start_map(std::uint32_t) { return enter(msgpack::type::MAP); }
    bool end_map() { return leave(); }
    void parse_error(std::size_t, std::size_t) { m_problem = Problem::Malformed; }
    void insufficient_bytes(std::size_t, std::size_t) { m_problem = Problem::Truncated; }

private:
    bool scalar(msgpack::type::object_type type)
    {
        if (m_depth == 0) {
            m_type = type;
        }
        return true;
    }
    bool enter(msgpack::type::object_type type)
    {
        scalar(type);
        if (++m_depth > m_maxDepth) {
            m_problem = Problem::TooDeep;
            return false;
        }
        return true;
    }
    bool leave()
    {
        --m_depth;
        return true;
    }

    std::size_t m_maxDepth;
    std::size_t m_depth = 0;
    std::optional<msgpack::type::object_type> m_type;
    Problem m_problem = Problem::None;
    std::size_t m_trailingBytes = 0;
};

} // namespace

bool isValidMethod(std::string_view method) noexcept
{
    return !method.empty() && method.size() <= kMaxMethodSize &&
           bytetext::findControlByte(method) == method.size();
}

std::string_view describeType(msgpack::type::object_type type) noexcept
{
    switch (type) {
    case msgpack::type::NIL:
        return "nil";
    case msgpack::type::BOOLEAN:
        return "a boolean";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
        return "an integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
        return "a float";
    case msgpack::type::STR:
        return "a string";
    case msgpack::type::BIN:
        return "binary";
    case msgpack::type::ARRAY:
        return "an array";
    case msgpack::type::MAP:
        return "a map";
    case msgpack::type::EXT:
        return "an extension";
    }
    return "an unknown type";
}

namespace {

[[noreturn]] void failPayload(std::string_view what, msgpack::type::object_type expected,
                              const std::string& problem)
{
    fail(ProtocolErrorKind::InvalidPayload,
         std::string(what) + " is not " + std::string(describeType(expected)) + ": " + problem);
}

// Throws InvalidPayload unless `bytes` are exactly one msgpack object of type `expected`.
// `what` names the frame for the error text ("request: args (frame 5)").
void requireOneObject(std::string_view bytes, msgpack::type::object_type expected,
                      std::size_t maxDepth, std::string_view what)
{
    MsgpackShape shape(maxDepth);
    shape.check(bytes);
    switch (shape.problem()) {
    case MsgpackShape::Problem::None:
        break;
    case MsgpackShape::Problem::Truncated:
        failPayload(what, expected,
                    bytes.empty() ? "empty frame"
                                  : "msgpack truncated after " + byteCount(bytes.size()));
    case MsgpackShape::Problem::Malformed:
        failPayload(what, expected, "malformed msgpack");
    case MsgpackShape::Problem::TooDeep:
        failPayload(what, expected,
                    "msgpack nested deeper than " + std::to_string(maxDepth) + " levels");
    }
    if (shape.type() != expected) {
        failPayload(what, expected,
                    "got " + std::string(shape.type() ? describeType(*shape.type()) : "nothing"));
    }
    if (shape.trailingBytes() != 0) {
        failPayload(what, expected, byteCount(shape.trailingBytes()) + " after the msgpack object");
    }
}

// requireOneObject, then the object itself.
msgpack::object_handle unpackOneObject(std::string_view bytes, msgpack::type::object_type expected,
                                       std::size_t maxDepth, std::string_view what)
{
    requireOneObject(bytes, expected, maxDepth, what);
    try {
        return msgpack::unpack(bytes.data(), bytes.size());
    } catch (const msgpack::unpack_error& e) {
        // Not expected once the shape check passed; kept so nothing but ProtocolError escapes.
        fail(ProtocolErrorKind::InvalidPayload, std::string(what) + ": " + e.what());
    }
}

// Arguments are opaque to the broker, so no depth bound beyond what the parser itself handles
// (it keeps its stack on the heap, not the call stack).
constexpr std::size_t kArgsMaxDepth = static_cast<std::size_t>(-1);
// An error map is small and flat; the bound also protects msgpack's recursive printing of
// an unexpected "detail" object.
constexpr std::size_t kErrorMaxDepth = 32;
// Options are a flat map; values of unknown keys may nest, within reason.
constexpr std::size_t kOptionsMaxDepth = 32;

void packString(msgpack::packer<msgpack::sbuffer>& packer, std::string_view text)
{
    packer.pack_str(static_cast<std::uint32_t>(text.size()));
    packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

std::string_view strView(const msgpack::object& object) noexcept
{
    return {object.via.str.ptr, object.via.str.size};
}

} // namespace

RequestEnvelope parseRequest(const Frames& frames, std::size_t bodyBegin)
{
    if (bodyBegin > frames.size() || frames.size() - bodyBegin < 3) {
        fail(ProtocolErrorKind::TooFewFrames,
             "request: expected request id, method and args from frame " +
                 std::to_string(bodyBegin) + ", message has " + std::to_string(frames.size()) +
                 " frames");
    }
    const RequestEnvelope envelope{bodyBegin, bodyBegin + 1, bodyBegin + 2};

    const std::size_t idSize = frames[envelope.requestIdFrame].size();
    if (idSize == 0 || idSize > kMaxRequestIdSize) {
        fail(ProtocolErrorKind::InvalidRequestId,
             "request: request id " + frameRef(envelope.requestIdFrame) + " is " +
                 byteCount(idSize) + ", expected 1 to " + std::to_string(kMaxRequestIdSize));
    }

    const std::string_view method = frameView(frames[envelope.methodFrame]);
    if (!isValidMethod(method)) {
        const std::size_t at = bytetext::findControlByte(method);
        fail(ProtocolErrorKind::InvalidMethod,
             "request: method " + frameRef(envelope.methodFrame) +
                 (at < method.size()
                      ? " has control byte " + hexByte(static_cast<std::uint8_t>(method[at])) +
                            " at offset " + std::to_string(at)
                      : " is " + byteCount(method.size()) + ", expected 1 to " +
                            std::to_string(kMaxMethodSize)));
    }

    requireOneObject(frameView(frames[envelope.argsFrame]), msgpack::type::ARRAY, kArgsMaxDepth,
                     "request: args " + frameRef(envelope.argsFrame));
    return envelope;
}

std::string_view methodOf(const Frames& frames, std::size_t bodyBegin) noexcept
{
    if (bodyBegin > frames.size() || frames.size() - bodyBegin < 3) {
        return {};
    }
    const std::string_view method = frameView(frames[bodyBegin + 1]);
    return isValidMethod(method) ? method : std::string_view{};
}

ReplyEnvelope parseReply(const Frames& frames, std::size_t bodyBegin)
{
    if (bodyBegin > frames.size() || frames.size() - bodyBegin < 3) {
        fail(ProtocolErrorKind::TooFewFrames,
             "reply: expected request id, status and payload from frame " +
                 std::to_string(bodyBegin) + ", message has " + std::to_string(frames.size()) +
                 " frames");
    }
    const std::size_t idFrame = bodyBegin;
    const std::size_t statusFrame = bodyBegin + 1;

    // Empty is allowed here: the broker answers requests that had no usable id with an empty one.
    const std::size_t idSize = frames[idFrame].size();
    if (idSize > kMaxRequestIdSize) {
        fail(ProtocolErrorKind::InvalidRequestId,
             "reply: request id " + frameRef(idFrame) + " is " + byteCount(idSize) +
                 ", expected at most " + std::to_string(kMaxRequestIdSize));
    }

    const zmq::message_t& status = frames[statusFrame];
    if (status.size() != 1) {
        fail(ProtocolErrorKind::InvalidStatus, "reply: expected a one-byte status " +
                                                   frameRef(statusFrame) + ", got " +
                                                   byteCount(status.size()));
    }
    const std::uint8_t byte = *status.data<std::uint8_t>();
    if (byte != static_cast<std::uint8_t>(Status::Ok) &&
        byte != static_cast<std::uint8_t>(Status::Error)) {
        fail(ProtocolErrorKind::InvalidStatus,
             "reply: unknown status " + hexByte(byte) + " " + frameRef(statusFrame));
    }
    return ReplyEnvelope{idFrame, static_cast<Status>(byte), bodyBegin + 2};
}

zmq::message_t encodeError(const ErrorInfo& error)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(3);
    packString(packer, "type");
    packString(packer, error.type);
    packString(packer, "message");
    packString(packer, error.message);
    packString(packer, "detail");
    if (error.detail.empty()) {
        packer.pack_nil();
    } else {
        packString(packer, error.detail);
    }
    return zmq::message_t(buffer.data(), buffer.size());
}

ErrorInfo decodeError(const zmq::message_t& payload)
{
    const std::string_view bytes = frameView(payload);
    const msgpack::object_handle handle =
        unpackOneObject(bytes, msgpack::type::MAP, kErrorMaxDepth, "error payload");

    const msgpack::object_map& map = handle.get().via.map;
    ErrorInfo error;
    bool hasType = false;
    bool hasMessage = false;
    for (std::uint32_t i = 0; i < map.size; ++i) {
        const msgpack::object& key = map.ptr[i].key;
        const msgpack::object& value = map.ptr[i].val;
        if (key.type != msgpack::type::STR) {
            continue; // unknown key: later versions may add any
        }
        const std::string_view name = strView(key);
        if (name == "type" || name == "message") {
            if (value.type != msgpack::type::STR) {
                fail(ProtocolErrorKind::InvalidPayload,
                     "error payload: \"" + std::string(name) + "\" is " +
                         std::string(describeType(value.type)) + ", expected a string");
            }
            if (name == "type") {
                error.type = strView(value);
                hasType = true;
            } else {
                error.message = strView(value);
                hasMessage = true;
            }
        } else if (name == "detail") {
            if (value.type == msgpack::type::NIL) {
                error.detail.clear();
            } else if (value.type == msgpack::type::STR) {
                error.detail = strView(value);
            } else {
                // A worker in another language may send a structured detail (a traceback as a
                // list, say); keep it readable rather than reject the whole error.
                std::ostringstream text;
                text << value;
                error.detail = std::move(text).str();
            }
        }
    }
    if (!hasType || !hasMessage) {
        fail(ProtocolErrorKind::InvalidPayload,
             std::string("error payload: missing \"") + (hasType ? "message" : "type") + "\"");
    }
    return error;
}

zmq::message_t encodeStatus(Status status)
{
    const auto byte = static_cast<std::uint8_t>(status);
    return zmq::message_t(&byte, 1);
}

void appendRequest(Frames& out, std::string_view requestId, std::string_view method,
                   zmq::message_t args)
{
    out.emplace_back(requestId.data(), requestId.size());
    out.emplace_back(method.data(), method.size());
    out.push_back(std::move(args));
}

void appendRequest(Frames& out, std::string_view requestId, std::string_view method,
                   zmq::message_t args, const RequestOptions& options)
{
    appendRequest(out, requestId, method, std::move(args));
    out.push_back(encodeRequestOptions(options));
}

zmq::message_t encodeRequestOptions(const RequestOptions& options)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(options.timeoutMs ? 2 : 1);
    if (options.timeoutMs) {
        packString(packer, "timeout_ms");
        packer.pack_uint32(*options.timeoutMs);
    }
    packString(packer, "idempotent");
    if (options.idempotent) {
        packer.pack_true();
    } else {
        packer.pack_false();
    }
    return zmq::message_t(buffer.data(), buffer.size());
}

RequestOptions decodeRequestOptions(std::string_view bytes)
{
    const msgpack::object_handle handle =
        unpackOneObject(bytes, msgpack::type::MAP, kOptionsMaxDepth, "request: options");
    const msgpack::object_map& map = handle.get().via.map;
    RequestOptions options;
    for (std::uint32_t i = 0; i < map.size; ++i) {
        const msgpack::object& key = map.ptr[i].key;
        const msgpack::object& value = map.ptr[i].val;
        if (key.type != msgpack::type::STR) {
            continue; // unknown key: later versions may add any
        }
        const std::string_view name = strView(key);
        if (name == "timeout_ms") {
            if (value.type != msgpack::type::POSITIVE_INTEGER || value.via.u64 == 0 ||
                value.via.u64 > UINT32_MAX) {
                fail(ProtocolErrorKind::InvalidPayload,
                     "request: options: \"timeout_ms\" is " +
                         (value.type == msgpack::type::POSITIVE_INTEGER
                              ? std::to_string(value.via.u64)
                              : std::string(describeType(value.type))) +
                         ", expected an integer from 1 to 4294967295");
            }
            options.timeoutMs = static_cast<std::uint32_t>(value.via.u64);
        } else if (name == "idempotent") {
            if (value.type != msgpack::type::BOOLEAN) {
                fail(ProtocolErrorKind::InvalidPayload, "request: options: \"idempotent\" is " +
                                                            std::string(describeType(value.type)) +
                                                            ", expected a boolean");
            }
            options.idempotent = value.via.boolean;
        }
    }
    return options;
}

RequestOptions requestOptionsOf(const Frames& frames, std::size_t bodyBegin)
{
    if (bodyBegin > frames.size() || frames.size() - bodyBegin <= kOptionsOffset) {
        return {};
    }
    return decodeRequestOptions(frameView(frames[bodyBegin + kOptionsOffset]));
}

void appendReply(Frames& out, zmq::message_t requestId, Status status, zmq::message_t payload)
{
    out.push_back(std::move(requestId));
    out.push_back(encodeStatus(status));
    out.push_back(std::move(payload));
}

void appendErrorReply(Frames& out, std::string_view requestId, const ErrorInfo& error)
{
    out.emplace_back(requestId.data(), requestId.size());
    out.push_back(encodeStatus(Status::Error));
    out.push_back(encodeError(error));
}

msgpack::object_handle unpackPayload(const zmq::message_t& frame, std::string_view what)
{
    const std::string_view bytes = frameView(frame);
    MsgpackShape shape(kArgsMaxDepth);
    shape.check(bytes);
    switch (shape.problem()) {
    case MsgpackShape::Problem::None:
        break;
    case MsgpackShape::Problem::Truncated:
        fail(ProtocolErrorKind::InvalidPayload,
             std::string(what) + ": " +
                 (bytes.empty() ? std::string("empty frame")
                                : "msgpack truncated after " + byteCount(bytes.size())));
    case MsgpackShape::Problem::Malformed:
    case MsgpackShape::Problem::TooDeep:
        fail(ProtocolErrorKind::InvalidPayload, std::string(what) + ": malformed msgpack");
    }
    if (shape.trailingBytes() != 0) {
        fail(ProtocolErrorKind::InvalidPayload, std::string(what) + ": " +
                                                    byteCount(shape.trailingBytes()) +
                                                    " after the msgpack object");
    }
    return msgpack::unpack(bytes.data(), bytes.size());
}

std::string demangle(const char* mangledName)
{
    int status = 0;
    const std::unique_ptr<char, decltype(&std::free)> readable(
        abi::__cxa_demangle(mangledName, nullptr, nullptr, &status), &std::free);
    return status == 0 && readable ? std::string(readable.get()) : std::string(mangledName);
}

} // namespace switchboard::rpc
