#include "framebytes.h"

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/error.h>

#include <msgpack.hpp>

#include <QTest>

#include <exception>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace switchboard;
using namespace switchboard::test;
using namespace switchboard::rpc;

Q_DECLARE_METATYPE(switchboard::ProtocolErrorKind)
Q_DECLARE_METATYPE(switchboard::rpc::Status)

namespace {

QByteArray bytesOf(const zmq::message_t& frame)
{
    return QByteArray(frame.data<char>(), static_cast<qsizetype>(frame.size()));
}

QByteArray toBytes(const msgpack::sbuffer& buffer)
{
    return QByteArray(buffer.data(), static_cast<qsizetype>(buffer.size()));
}

// msgpack is produced with msgpack-cxx's own packer, independent of the code under test.
template <typename T>
QByteArray packed(const T& value)
{
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, value);
    return toBytes(buffer);
}

QByteArray packedNil()
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer>(buffer).pack_nil();
    return toBytes(buffer);
}

// A msgpack map of string keys to values already packed; keys repeat and order as given.
QByteArray packedMap(const QList<std::pair<QByteArray, QByteArray>>& entries)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(static_cast<std::uint32_t>(entries.size()));
    QByteArray bytes = toBytes(buffer);
    for (const auto& [key, value] : entries) {
        bytes += key + value;
    }
    return bytes;
}

QByteArray str(const char* text)
{
    return packed(std::string(text));
}

QByteArray byte(int value)
{
    return QByteArray(1, static_cast<char>(value));
}

QByteArray nested(int depth)
{
    // depth arrays, each holding the next: 0x91 0x91 ... 0x90
    return QByteArray(depth - 1, '\x91') + '\x90';
}

const QByteArray E;
const QByteArray kArgs = packed(std::vector<int>{1, 2});
// The frames in front of a body when it sits in a client REQUEST received on a ROUTER.
const QByteArrayList kMdpPrefix = {QByteArray("\x00\x80\x00\x41\xa7", 5), E, "MDPC01", "echo"};

// Every body case runs at bodyBegin 0 and behind a 7/MDP header on a ROUTER (bodyBegin 4).
void addBodyRow(const char* tag, const QByteArrayList& body, bool valid, ProtocolErrorKind error)
{
    QTest::addRow("%s @0", tag) << body << 0 << valid << error;
    QTest::addRow("%s @4", tag) << kMdpPrefix + body << 4 << valid << error;
}

} // namespace

class TestEnvelope : public QObject {
    Q_OBJECT

private slots:
    void parseRequest_data();
    void parseRequest();
    void errorText_data();
    void errorText();
    void methodOf_data();
    void methodOf();
    void parseReply_data();
    void parseReply();
    void errorRoundTrip_data();
    void errorRoundTrip();
    void encodeErrorBytes();
    void requestOptionsBytes();
    void decodeError_data();
    void decodeError();
    void decodeErrorRejects_data();
    void decodeErrorRejects();
    void builders();
    void mutatedMsgpackOnlyThrowsProtocolError();
};

void TestEnvelope::parseRequest_data()
{
    using K = ProtocolErrorKind;
    QTest::addColumn<QByteArrayList>("frames");
    QTest::addColumn<int>("bodyBegin");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<ProtocolErrorKind>("error");

    const auto ok = [](const char* tag, const QByteArrayList& body) {
        addBodyRow(tag, body, true, K::Count);
    };
    const auto bad = [](const char* tag, const QByteArrayList& body, K error) {
        addBodyRow(tag, body, false, error);
    };

    ok("minimal", {"1", "add", kArgs});
    ok("empty args array", {"1", "add", "\x90"});
    ok("reserved frames after args are ignored", {"1", "add", kArgs, "later", E});
    ok("binary request id", {QByteArray("\x00\x01\xff", 3), "add", kArgs});
    ok("255-byte request id", {QByteArray(255, 'r'), "add", kArgs});
    ok("255-byte method", {"1", QByteArray(255, 'm'), kArgs});
    ok("method with spaces, dots and UTF-8", {"1", "math.add v2 \xc3\xa9", kArgs});
    ok("args with every msgpack type",
       {"1", "m",
        QByteArray::fromHex("9a c0 c3 05 d0 80 cb 3ff8000000000000 a1 78 c4 01 79 81 a1 6b 90 "
                            "d4 01 02 91 90")});
    ok("args nested 1000 deep", {"1", "m", nested(1000)});
    ok("args array16", {"1", "m", packed(std::vector<int>(20, 7))});

    bad("no frames", {}, K::TooFewFrames);
    bad("request id only", {"1"}, K::TooFewFrames);
    bad("no args", {"1", "add"}, K::TooFewFrames);
    bad("empty request id", {E, "add", kArgs}, K::InvalidRequestId);
    bad("256-byte request id", {QByteArray(256, 'r'), "add", kArgs}, K::InvalidRequestId);
    bad("request id checked before method", {E, E, E}, K::InvalidRequestId);
    bad("empty method", {"1", E, kArgs}, K::InvalidMethod);
    bad("256-byte method", {"1", QByteArray(256, 'm'), kArgs}, K::InvalidMethod);
    bad("newline in method", {"1", "add\n", kArgs}, K::InvalidMethod);
    bad("NUL in method", {"1", QByteArray("a\0d", 3), kArgs}, K::InvalidMethod);
    bad("DEL in method", {"1", "ad\x7f", kArgs}, K::InvalidMethod);
    bad("msgpack as method", {"1", kArgs, kArgs}, K::InvalidMethod);
    bad("method checked before args", {"1", E, E}, K::InvalidMethod);
    bad("empty args frame", {"1", "add", E}, K::InvalidPayload);
    bad("args an integer", {"1", "add", packed(42)}, K::InvalidPayload);
    bad("args a string", {"1", "add", str("[1, 2]")}, K::InvalidPayload);
    bad("args nil", {"1", "add", packedNil()}, K::InvalidPayload);
    bad("args a map", {"1", "add", packed(std::map<std::string, int>{{"a", 1}})},
        K::InvalidPayload);
    bad("args JSON text", {"1", "add", "[1, 2]"}, K::InvalidPayload);
    bad("args truncated: array of 2 with 1 element", {"1", "add", "\x92\x01"}, K::InvalidPayload);
    bad("args truncated inside a string",
        {"1", "add",
         "\x91\xa5"
         "ab"},
        K::InvalidPayload);
    bad("args truncated array16 header", {"1", "add", QByteArray("\xdc\x00", 2)},
        K::InvalidPayload);
    bad("args with a trailing byte", {"1", "add", kArgs + '\xc0'}, K::InvalidPayload);
    bad("args two arrays", {"1", "add", kArgs + kArgs}, K::InvalidPayload);
    bad("args the never-used byte 0xc1", {"1", "add", "\x91\xc1"}, K::InvalidPayload);
    // msgpack::unpack would allocate what these headers announce before finding the bytes
    // missing: ~96 GiB for the first (std::bad_alloc, or an ASan abort), 64 x 1.5 MiB for the
    // second. The parser must reject them without trying.
    bad("args array32 announcing 2^32-1 elements", {"1", "add", "\xdd\xff\xff\xff\xff"},
        K::InvalidPayload);
    bad("args nested array32 headers",
        {"1", "add", QByteArray("\xdd\x00\x00\xff\xff", 5).repeated(64)}, K::InvalidPayload);
    bad("args ext32 of 2^32-1 bytes", {"1", "add", "\x91\xc9\xff\xff\xff\xff\x01"},
        K::InvalidPayload);
}

void TestEnvelope::parseRequest()
{
    QFETCH(QByteArrayList, frames);
    QFETCH(int, bodyBegin);
    QFETCH(bool, valid);
    QFETCH(ProtocolErrorKind, error);

    const Frames message = toFrames(frames);
    const auto begin = static_cast<std::size_t>(bodyBegin);
    if (!valid) {
        try {
            (void)rpc::parseRequest(message, begin);
            QFAIL("parsed; expected a ProtocolError");
        } catch (const ProtocolError& e) {
            QCOMPARE(name(e.kind()), name(error));
            QVERIFY2(QByteArray(e.what()).startsWith("RPC request: "), e.what());
        }
        return;
    }
    const RequestEnvelope envelope = rpc::parseRequest(message, begin);
    QCOMPARE(envelope.requestIdFrame, begin);
    QCOMPARE(envelope.methodFrame, begin + 1);
    QCOMPARE(envelope.argsFrame, begin + 2);
}

void TestEnvelope::errorText_data()
{
    QTest::addColumn<QByteArrayList>("frames");
    QTest::addColumn<int>("bodyBegin");
    QTest::addColumn<QString>("expected");

    // Frame indexes count from frame 0 of the whole message.
    QTest::newRow("args a map") << kMdpPrefix + QByteArrayList{"1", "add", "\x80"} << 4
                                << "RPC request: args (frame 6) is not an array: got a map";
    QTest::newRow("args truncated")
        << QByteArrayList{"1", "add", "\x92\x01"} << 0
        << "RPC request: args (frame 2) is not an array: msgpack truncated after 2 bytes";
    QTest::newRow("trailing bytes")
        << QByteArrayList{"1", "add", "\x90\xc0\xc0"} << 0
        << "RPC request: args (frame 2) is not an array: 2 bytes after the msgpack object";
    QTest::newRow("method") << QByteArrayList{"1", "ad\td", kArgs} << 0
                            << "RPC request: method (frame 1) has control byte 0x09 at offset 2";
    QTest::newRow("request id")
        << QByteArrayList{E, "add", kArgs} << 0
        << "RPC request: request id (frame 0) is 0 bytes, expected 1 to 255";
}

void TestEnvelope::errorText()
{
    QFETCH(QByteArrayList, frames);
    QFETCH(int, bodyBegin);
    QFETCH(QString, expected);
    try {
        (void)rpc::parseRequest(toFrames(frames), static_cast<std::size_t>(bodyBegin));
        QFAIL("parsed; expected a ProtocolError");
    } catch (const ProtocolError& e) {
        QCOMPARE(QString::fromUtf8(e.what()), expected);
    }
}

void TestEnvelope::methodOf_data()
{
    QTest::addColumn<QByteArrayList>("frames");
    QTest::addColumn<int>("bodyBegin");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("envelope") << QByteArrayList{"1", "add", kArgs} << 0 << QByteArray("add");
    QTest::newRow("envelope behind MDP header")
        << kMdpPrefix + QByteArrayList{"1", "add", kArgs} << 4 << QByteArray("add");
    // Statistics only: the args are not decoded, so bad msgpack still has a method.
    QTest::newRow("args not msgpack")
        << QByteArrayList{"1", "add", "\xc1"} << 0 << QByteArray("add");
    QTest::newRow("empty request id") << QByteArrayList{E, "add", kArgs} << 0 << QByteArray("add");
    QTest::newRow("255-byte method")
        << QByteArrayList{"1", QByteArray(255, 'm'), kArgs} << 0 << QByteArray(255, 'm');
    QTest::newRow("256-byte method")
        << QByteArrayList{"1", QByteArray(256, 'm'), kArgs} << 0 << QByteArray();
    QTest::newRow("two-frame body") << QByteArrayList{"1", "add"} << 0 << QByteArray();
    QTest::newRow("raw MMI body") << QByteArrayList{"echo"} << 0 << QByteArray();
    QTest::newRow("no body") << kMdpPrefix << 4 << QByteArray();
    QTest::newRow("bodyBegin past the end")
        << QByteArrayList{"1", "add", kArgs} << 7 << QByteArray();
    QTest::newRow("empty method") << QByteArrayList{"1", E, kArgs} << 0 << QByteArray();
    QTest::newRow("binary method") << QByteArrayList{"1", "\x01\x02", kArgs} << 0 << QByteArray();
    QTest::newRow("DEL in method") << QByteArrayList{"1", "a\x7f", kArgs} << 0 << QByteArray();
    QTest::newRow("msgpack as method") << QByteArrayList{"1", kArgs, kArgs} << 0 << QByteArray();
}

void TestEnvelope::methodOf()
{
    QFETCH(QByteArrayList, frames);
    QFETCH(int, bodyBegin);
    QFETCH(QByteArray, expected);

    const Frames message = toFrames(frames);
    const std::string_view method = rpc::methodOf(message, static_cast<std::size_t>(bodyBegin));
    QCOMPARE(QByteArray(method.data(), static_cast<qsizetype>(method.size())), expected);
    if (!method.empty()) {
        // A view into the frame, not a copy: the broker calls this for every request.
        QCOMPARE(static_cast<const void*>(method.data()),
                 message[static_cast<std::size_t>(bodyBegin) + 1].data());
    }
}

void TestEnvelope::parseReply_data()
{
    using K = ProtocolErrorKind;
    QTest::addColumn<QByteArrayList>("frames");
    QTest::addColumn<int>("bodyBegin");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<ProtocolErrorKind>("error");
    QTest::addColumn<Status>("status");

    const auto row = [](const char* tag, const QByteArrayList& body, bool valid, K error,
                        Status status) {
        QTest::addRow("%s @0", tag) << body << 0 << valid << error << status;
        QTest::addRow("%s @4", tag) << kMdpPrefix + body << 4 << valid << error << status;
    };
    const QByteArray error = toBytes([] {
        msgpack::sbuffer buffer;
        msgpack::pack(buffer, std::map<std::string, std::string>{{"type", "T"}, {"message", "m"}});
        return buffer;
    }());

    row("OK", {"1", byte(0x00), packed(3)}, true, K::Count, Status::Ok);
    row("error", {"1", byte(0x01), error}, true, K::Count, Status::Error);
    row("empty request id", {E, byte(0x01), error}, true, K::Count, Status::Error);
    row("255-byte request id", {QByteArray(255, 'r'), byte(0x00), packedNil()}, true, K::Count,
        Status::Ok);
    row("payload is not decoded", {"1", byte(0x00), "\xc1"}, true, K::Count, Status::Ok);
    row("empty payload", {"1", byte(0x00), E}, true, K::Count, Status::Ok);
    row("frames after the payload", {"1", byte(0x00), packed(3), "x"}, true, K::Count, Status::Ok);

    row("no frames", {}, false, K::TooFewFrames, Status::Ok);
    row("no payload", {"1", byte(0x00)}, false, K::TooFewFrames, Status::Ok);
    row("256-byte request id", {QByteArray(256, 'r'), byte(0x00), packed(3)}, false,
        K::InvalidRequestId, Status::Ok);
    row("status 0x02", {"1", byte(0x02), packed(3)}, false, K::InvalidStatus, Status::Ok);
    row("status 0xff", {"1", byte(0xff), packed(3)}, false, K::InvalidStatus, Status::Ok);
    row("status ASCII '0'", {"1", "0", packed(3)}, false, K::InvalidStatus, Status::Ok);
    row("empty status", {"1", E, packed(3)}, false, K::InvalidStatus, Status::Ok);
    row("two-byte status", {"1", byte(0x00) + byte(0x00), packed(3)}, false, K::InvalidStatus,
        Status::Ok);
}

void TestEnvelope::parseReply()
{
    QFETCH(QByteArrayList, frames);
    QFETCH(int, bodyBegin);
    QFETCH(bool, valid);
    QFETCH(ProtocolErrorKind, error);
    QFETCH(Status, status);

    const Frames message = toFrames(frames);
    const auto begin = static_cast<std::size_t>(bodyBegin);
    if (!valid) {
        try {
            (void)rpc::parseReply(message, begin);
            QFAIL("parsed; expected a ProtocolError");
        } catch (const ProtocolError& e) {
            QCOMPARE(name(e.kind()), name(error));
            QVERIFY2(QByteArray(e.what()).startsWith("RPC reply: "), e.what());
        }
        return;
    }
    const ReplyEnvelope reply = rpc::parseReply(message, begin);
    QCOMPARE(reply.requestIdFrame, begin);
    QCOMPARE(int(reply.status), int(status));
    QCOMPARE(reply.payloadFrame, begin + 2);
}

void TestEnvelope::errorRoundTrip_data()
{
    QTest::addColumn<QByteArray>("type");
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QByteArray>("detail");

    QTest::newRow("no detail") << QByteArray("ServiceUnavailable")
                               << QByteArray("no worker for echo") << QByteArray();
    QTest::newRow("detail") << QByteArray("NotImplemented") << QByteArray("mmi.nope")
                            << QByteArray("501");
    QTest::newRow("empty strings") << QByteArray() << QByteArray() << QByteArray();
    QTest::newRow("UTF-8 and NUL") << QByteArray("ValueError") << QByteArray("caf\xc3\xa9\0x", 7)
                                   << QByteArray("line 1\nline 2");
    QTest::newRow("str32 traceback")
        << QByteArray("RuntimeError") << QByteArray("boom") << QByteArray(70000, 't');
}

void TestEnvelope::errorRoundTrip()
{
    QFETCH(QByteArray, type);
    QFETCH(QByteArray, message);
    QFETCH(QByteArray, detail);

    const ErrorInfo error{type.toStdString(), message.toStdString(), detail.toStdString()};
    QCOMPARE(rpc::decodeError(rpc::encodeError(error)), error);
}

void TestEnvelope::encodeErrorBytes()
{
    // Exactly three keys in this order; an empty detail is nil, not "".
    const zmq::message_t noDetail = rpc::encodeError({"T", "m", ""});
    QCOMPARE(QByteArray(noDetail.data<char>(), static_cast<qsizetype>(noDetail.size())).toHex(' '),
             QByteArray("83 a4 74 79 70 65 a1 54 a7 6d 65 73 73 61 67 65 a1 6d "
                        "a6 64 65 74 61 69 6c c0"));
    const zmq::message_t withDetail = rpc::encodeError({"T", "m", "d"});
    QCOMPARE(
        QByteArray(withDetail.data<char>(), static_cast<qsizetype>(withDetail.size())).toHex(' '),
        QByteArray("83 a4 74 79 70 65 a1 54 a7 6d 65 73 73 61 67 65 a1 6d "
                   "a6 64 65 74 61 69 6c a1 64"));
}

void TestEnvelope::requestOptionsBytes()
{
    // The example of docs/PROTOCOL.md section 6, byte by byte.
    const zmq::message_t options = rpc::encodeRequestOptions({5000, true});
    QCOMPARE(bytesOf(options).toHex(' '), QByteArray("82 aa 74 69 6d 65 6f 75 74 5f 6d 73 cd 13 88 "
                                                     "aa 69 64 65 6d 70 6f 74 65 6e 74 c3"));
    QVERIFY(rpc::decodeRequestOptions(frameView(options)) == (rpc::RequestOptions{5000, true}));
    // Without the frame: the defaults, whatever else the body holds.
    Frames body;
    rpc::appendRequest(body, "id", "m", zmq::message_t(packed(std::vector<int>{}).constData(), 1));
    QVERIFY(rpc::requestOptionsOf(body, 0) == rpc::RequestOptions{});
    rpc::appendRequest(body, "id", "m", zmq::message_t(), {std::nullopt, true});
    QVERIFY(rpc::requestOptionsOf(body, 3) == (rpc::RequestOptions{std::nullopt, true}));
    // Unknown keys, of any type, are skipped.
    std::map<std::string, std::vector<int>> unknown{{"priority", {1, 2}}};
    QVERIFY(rpc::decodeRequestOptions(packed(unknown).toStdString()) == rpc::RequestOptions{});
    try {
        (void)rpc::decodeRequestOptions(
            packed(std::map<std::string, int>{{"timeout_ms", 0}}).toStdString());
        QFAIL("timeout_ms 0 was accepted");
    } catch (const ProtocolError& error) {
        QVERIFY(error.kind() == ProtocolErrorKind::InvalidPayload);
    }
}

void TestEnvelope::decodeError_data()
{
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QByteArray>("type");
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QByteArray>("detail");

    QTest::newRow("all three") << packedMap({{str("type"), str("T")},
                                             {str("message"), str("m")},
                                             {str("detail"), str("d")}})
                               << QByteArray("T") << QByteArray("m") << QByteArray("d");
    QTest::newRow("keys in another order")
        << packedMap(
               {{str("detail"), str("d")}, {str("message"), str("m")}, {str("type"), str("T")}})
        << QByteArray("T") << QByteArray("m") << QByteArray("d");
    QTest::newRow("detail nil") << packedMap({{str("type"), str("T")},
                                              {str("message"), str("m")},
                                              {str("detail"), packedNil()}})
                                << QByteArray("T") << QByteArray("m") << QByteArray();
    QTest::newRow("detail missing")
        << packedMap({{str("type"), str("T")}, {str("message"), str("m")}}) << QByteArray("T")
        << QByteArray("m") << QByteArray();
    QTest::newRow("detail an integer")
        << packedMap(
               {{str("type"), str("T")}, {str("message"), str("m")}, {str("detail"), packed(501)}})
        << QByteArray("T") << QByteArray("m") << QByteArray("501");
    QTest::newRow("detail a traceback list")
        << packedMap({{str("type"), str("T")},
                      {str("message"), str("m")},
                      {str("detail"), packed(std::vector<std::string>{"f.py:1", "g.py:2"})}})
        << QByteArray("T") << QByteArray("m") << QByteArray("[\"f.py:1\",\"g.py:2\"]");
    QTest::newRow("unknown keys ignored")
        << packedMap({{str("code"), packed(7)},
                      {str("type"), str("T")},
                      {packed(1), str("int key")},
                      {packedNil(), packedNil()},
                      {str("message"), str("m")},
                      {str("extra"), packed(std::vector<int>{1, 2})}})
        << QByteArray("T") << QByteArray("m") << QByteArray();
}

void TestEnvelope::decodeError()
{
    QFETCH(QByteArray, payload);
    QFETCH(QByteArray, type);
    QFETCH(QByteArray, message);
    QFETCH(QByteArray, detail);

    const ErrorInfo error = rpc::decodeError(
        zmq::message_t(payload.constData(), static_cast<std::size_t>(payload.size())));
    QCOMPARE(QByteArray::fromStdString(error.type), type);
    QCOMPARE(QByteArray::fromStdString(error.message), message);
    QCOMPARE(QByteArray::fromStdString(error.detail), detail);
}

void TestEnvelope::decodeErrorRejects_data()
{
    QTest::addColumn<QByteArray>("payload");

    const QByteArray type = str("type");
    const QByteArray message = str("message");
    QTest::newRow("empty frame") << QByteArray();
    QTest::newRow("text") << QByteArray("ServiceUnavailable: no worker");
    QTest::newRow("never-used byte 0xc1") << QByteArray("\xc1");
    QTest::newRow("nil") << packedNil();
    QTest::newRow("array") << packed(std::vector<std::string>{"T", "m"});
    QTest::newRow("missing type") << packedMap({{message, str("m")}});
    QTest::newRow("missing message") << packedMap({{type, str("T")}});
    QTest::newRow("empty map") << packedMap({});
    QTest::newRow("type an integer") << packedMap({{type, packed(1)}, {message, str("m")}});
    QTest::newRow("message nil") << packedMap({{type, str("T")}, {message, packedNil()}});
    QTest::newRow("type binary") << packedMap(
        {{type, QByteArray("\xc4\x01T", 3)}, {message, str("m")}});
    QTest::newRow("truncated map") << packedMap({{type, str("T")}, {message, str("m")}}).chopped(1);
    QTest::newRow("map header only") << QByteArray("\x82");
    QTest::newRow("trailing byte") << packedMap({{type, str("T")}, {message, str("m")}}) + '\xc0';
    // A detail nested this deep would overflow the stack of msgpack's recursive printer.
    QTest::newRow("detail nested 100000 deep")
        << packedMap({{type, str("T")}, {message, str("m")}, {str("detail"), nested(100000)}});
    QTest::newRow("map32 announcing 2^32-1 pairs") << QByteArray("\xdf\xff\xff\xff\xff");
    QTest::newRow("str32 announcing 4 GiB") << QByteArray("\x81\xdb\xff\xff\xff\xff");
}

void TestEnvelope::decodeErrorRejects()
{
    QFETCH(QByteArray, payload);
    try {
        (void)rpc::decodeError(
            zmq::message_t(payload.constData(), static_cast<std::size_t>(payload.size())));
        QFAIL("decoded; expected a ProtocolError");
    } catch (const ProtocolError& e) {
        QCOMPARE(name(e.kind()), name(ProtocolErrorKind::InvalidPayload));
    }
}

void TestEnvelope::builders()
{
    const zmq::message_t ok = encodeStatus(Status::Ok);
    QCOMPARE(QByteArray(ok.data<char>(), static_cast<qsizetype>(ok.size())), byte(0x00));
    const zmq::message_t err = encodeStatus(Status::Error);
    QCOMPARE(QByteArray(err.data<char>(), static_cast<qsizetype>(err.size())), byte(0x01));

    Frames request;
    appendRequest(request, "r1", "add",
                  zmq::message_t(kArgs.constData(), static_cast<std::size_t>(kArgs.size())));
    QCOMPARE(toList(request), (QByteArrayList{"r1", "add", kArgs}));
    (void)rpc::parseRequest(request, 0);

    Frames reply;
    appendReply(reply, zmq::message_t("r1", 2), Status::Ok, zmq::message_t("\x03", 1));
    QCOMPARE(toList(reply), (QByteArrayList{"r1", byte(0x00), "\x03"}));

    // The error reply the broker sends, and the empty id it uses when the request had none.
    const ErrorInfo lost{std::string(errortype::kWorkerLost), "worker died", ""};
    for (const char* id : {"r1", ""}) {
        Frames errorReply;
        errorReply.emplace_back(); // appends after what is already there
        appendErrorReply(errorReply, id, lost);
        QCOMPARE(errorReply.size(), std::size_t(4));
        const ReplyEnvelope parsed = rpc::parseReply(errorReply, 1);
        QCOMPARE(int(parsed.status), int(Status::Error));
        QCOMPARE(frameView(errorReply[parsed.requestIdFrame]), std::string_view(id));
        QCOMPARE(rpc::decodeError(errorReply[parsed.payloadFrame]), lost);
    }
}

// Clients decode whatever a worker sends, and the broker checks args from any client: random and
// mutated msgpack must only ever produce a ProtocolError (run under ASan to catch overreads).
void TestEnvelope::mutatedMsgpackOnlyThrowsProtocolError()
{
    const QList<QByteArray> corpus = {
        kArgs,
        toBytes([] {
            msgpack::sbuffer buffer;
            msgpack::packer<msgpack::sbuffer> packer(buffer);
            packer.pack_array(4);
            packer.pack(std::string("text"));
            packer.pack(-70000);
            packer.pack(2.5);
            packer.pack(std::map<std::string, std::vector<int>>{{"k", {1, 2, 3}}});
            return buffer;
        }()),
        bytesOf(rpc::encodeError({"T", "message", "detail"})),
        packedMap(
            {{str("type"), str("T")}, {str("message"), str("m")}, {str("detail"), packed(9)}}),
        nested(40),
        QByteArray("\xdc\x00\x03\x01\x02\x03\xdd\x00\x00\x00\x01\xc0", 12),
    };
    const QByteArray headers("\x90\x9f\x80\x8f\xa0\xbf\xc0\xc1\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc"
                             "\xd4\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf\xff",
                             27);

    std::mt19937 rng(0xe7e1); // fixed: a failing round reproduces
    const auto below = [&rng](qsizetype bound) {
        return std::uniform_int_distribution<qsizetype>(0, std::max<qsizetype>(bound, 1) - 1)(rng);
    };

    constexpr int kRounds = 5000;
    int decoded = 0;
    for (int round = 0; round < kRounds; ++round) {
        QByteArray bytes = corpus.at(below(corpus.size()));
        for (int m = 1 + static_cast<int>(below(3)); m > 0; --m) {
            const qsizetype at = below(bytes.size());
            switch (below(6)) {
            case 0:
                if (!bytes.isEmpty()) {
                    bytes[at] = static_cast<char>(rng() & 0xff);
                }
                break;
            case 1:
                if (!bytes.isEmpty()) {
                    bytes[at] = headers.at(below(headers.size()));
                }
                break;
            case 2:
                bytes.insert(below(bytes.size() + 1), headers.at(below(headers.size())));
                break;
            case 3:
                bytes.truncate(below(bytes.size() + 1));
                break;
            case 4:
                if (!bytes.isEmpty()) {
                    bytes.remove(at, 1 + below(4));
                }
                break;
            default:
                bytes.append(static_cast<char>(rng() & 0xff));
                break;
            }
        }

        const zmq::message_t frame(bytes.constData(), static_cast<std::size_t>(bytes.size()));
        Frames request;
        request.emplace_back("1", 1);
        request.emplace_back("m", 1);
        request.emplace_back(bytes.constData(), static_cast<std::size_t>(bytes.size()));
        try {
            (void)rpc::decodeError(frame);
            ++decoded;
        } catch (const ProtocolError&) {
        } catch (const std::exception& e) {
            QFAIL(qPrintable(
                QStringLiteral("decodeError, round %1, bytes %2: %3")
                    .arg(round)
                    .arg(QString::fromLatin1(bytes.toHex()), QString::fromUtf8(e.what()))));
        }
        try {
            (void)rpc::parseRequest(request, 0);
            ++decoded;
        } catch (const ProtocolError&) {
        } catch (const std::exception& e) {
            QFAIL(qPrintable(
                QStringLiteral("parseRequest, round %1, bytes %2: %3")
                    .arg(round)
                    .arg(QString::fromLatin1(bytes.toHex()), QString::fromUtf8(e.what()))));
        }
    }
    QVERIFY2(decoded > kRounds / 20, qPrintable(QString::number(decoded)));
    qInfo("%d of %d mutated payloads decoded", decoded, 2 * kRounds);
}

QTEST_APPLESS_MAIN(TestEnvelope)
#include "tst_envelope.moc"
