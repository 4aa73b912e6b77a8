#include "framebytes.h"

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/error.h>
#include <switchboard/protocol/mdp.h>

#include <QRegularExpression>
#include <QSet>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <functional>
#include <limits>
#include <new>
#include <random>
#include <stdexcept>
#include <vector>

using namespace switchboard;
using namespace switchboard::test;
using namespace switchboard::mdp;

Q_DECLARE_METATYPE(switchboard::mdp::Version)
Q_DECLARE_METATYPE(switchboard::mdp::ClientCommand)
Q_DECLARE_METATYPE(switchboard::mdp::WorkerCommand)
Q_DECLARE_METATYPE(switchboard::ProtocolErrorKind)

namespace {
// Counts every ordinary operator new in this binary, for successfulParsesDoNotAllocate().
std::atomic<long> g_allocations{0};
} // namespace

// Replacing the global allocation functions is the only way to see allocations made inside the
// library. The array and nothrow forms call these by default.
void* operator new(std::size_t size)
{
    ++g_allocations;
    if (void* memory = std::malloc(size == 0 ? 1 : size)) {
        return memory;
    }
    throw std::bad_alloc();
}

void operator delete(void* memory) noexcept
{
    std::free(memory);
}

void operator delete(void* memory, std::size_t) noexcept
{
    std::free(memory);
}

namespace {

QByteArray byte(int value)
{
    return QByteArray(1, static_cast<char>(value));
}

const QByteArray E; // an empty frame
const QByteArray kClient01 = "MDPC01";
const QByteArray kClient02 = "MDPC02";
const QByteArray kWorker01 = "MDPW01";
const QByteArray kWorker02 = "MDPW02";
// What a ROUTER puts in front of a message from a peer without a set identity: 5 bytes, first 0.
const QByteArray kIdentity("\x00\x80\x00\x41\xa7", 5);
// A body shaped like an RPC request: request id, method, args = msgpack [1, 2].
const QByteArrayList kBody = {"r1", "add", "\x92\x01\x02"};

QByteArrayList withIdentity(const QByteArrayList& frames, int first)
{
    return first == 0 ? frames : QByteArrayList{kIdentity} + frames;
}

// --- table rows -------------------------------------------------------------------------------
// Every case runs twice: as a DEALER receives it (MDP from frame 0) and as a ROUTER does
// (identity frame first, MDP from frame 1).

void clientColumns()
{
    QTest::addColumn<QByteArrayList>("frames");
    QTest::addColumn<int>("first");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<Version>("version");
    QTest::addColumn<ClientCommand>("command");
    QTest::addColumn<ProtocolErrorKind>("error");
}

void clientValid(const char* tag, const QByteArrayList& frames, Version version,
                 ClientCommand command)
{
    for (const int first : {0, 1}) {
        QTest::addRow("%s @%d", tag, first) << withIdentity(frames, first) << first << true
                                            << version << command << ProtocolErrorKind::Count;
    }
}

void clientInvalid(const char* tag, const QByteArrayList& frames, ProtocolErrorKind error)
{
    for (const int first : {0, 1}) {
        QTest::addRow("%s @%d", tag, first) << withIdentity(frames, first) << first << false
                                            << Version::V01 << ClientCommand::Request << error;
    }
}

void workerColumns()
{
    QTest::addColumn<QByteArrayList>("frames");
    QTest::addColumn<int>("first");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<Version>("version");
    QTest::addColumn<WorkerCommand>("command");
    // Relative to `first`; 0 for a field the command does not have.
    QTest::addColumn<int>("serviceFrame");
    QTest::addColumn<int>("clientFrame");
    QTest::addColumn<int>("bodyBegin");
    QTest::addColumn<ProtocolErrorKind>("error");
}

void workerValid(const char* tag, const QByteArrayList& frames, Version version,
                 WorkerCommand command, int serviceFrame, int clientFrame, int bodyBegin)
{
    for (const int first : {0, 1}) {
        QTest::addRow("%s @%d", tag, first)
            << withIdentity(frames, first) << first << true << version << command << serviceFrame
            << clientFrame << bodyBegin << ProtocolErrorKind::Count;
    }
}

void workerInvalid(const char* tag, const QByteArrayList& frames, ProtocolErrorKind error)
{
    for (const int first : {0, 1}) {
        QTest::addRow("%s @%d", tag, first)
            << withIdentity(frames, first) << first << false << Version::V01 << WorkerCommand::Ready
            << 0 << 0 << 0 << error;
    }
}

// Rows shared by parseClientRequest and parseClientReply: what no client message may look like.
void commonClientInvalidRows()
{
    using K = ProtocolErrorKind;
    clientInvalid("no frames", {}, K::TooFewFrames);
    clientInvalid("only the empty frame", {E}, K::TooFewFrames);
    clientInvalid("7/MDP header without the empty frame", QByteArrayList{kClient01, "echo"} + kBody,
                  K::MissingEmptyFrame);
    clientInvalid("18/MDP header after an empty frame",
                  QByteArrayList{E, kClient02, byte(0x01), "echo"} + kBody, K::UnknownProtocol);
    clientInvalid("7/MDP worker header", QByteArrayList{E, kWorker01, byte(0x02), "c", E} + kBody,
                  K::UnknownProtocol);
    clientInvalid("18/MDP worker header", QByteArrayList{kWorker02, byte(0x01), "echo"},
                  K::UnknownProtocol);
    clientInvalid("MDPC03", QByteArrayList{kClient02.chopped(1) + "3", byte(0x01), "echo"} + kBody,
                  K::UnknownProtocol);
    clientInvalid("lower-case header", QByteArrayList{"mdpc02", byte(0x01), "echo"} + kBody,
                  K::UnknownProtocol);
    clientInvalid("header with a trailing NUL",
                  QByteArrayList{kClient02 + byte(0), byte(0x01), "echo"} + kBody,
                  K::UnknownProtocol);
    clientInvalid("empty then garbage", QByteArrayList{E, "hello", "echo"} + kBody,
                  K::UnknownProtocol);
    clientInvalid("empty then nothing else", {E}, K::TooFewFrames);
    clientInvalid("18/MDP without command", {kClient02}, K::TooFewFrames);
    clientInvalid("18/MDP empty command frame", QByteArrayList{kClient02, E, "echo"} + kBody,
                  K::UnknownCommand);
    clientInvalid("18/MDP two-byte command",
                  QByteArrayList{kClient02, byte(0x01) + byte(0x01), "echo"} + kBody,
                  K::UnknownCommand);
    clientInvalid("18/MDP ASCII '1' instead of 0x01",
                  QByteArrayList{kClient02, "1", "echo"} + kBody, K::UnknownCommand);
    clientInvalid("18/MDP command 0x00", QByteArrayList{kClient02, byte(0x00), "echo"} + kBody,
                  K::UnknownCommand);
    clientInvalid("18/MDP command 0x04", QByteArrayList{kClient02, byte(0x04), "echo"} + kBody,
                  K::UnknownCommand);
    clientInvalid("18/MDP command 0xff", QByteArrayList{kClient02, byte(0xff), "echo"} + kBody,
                  K::UnknownCommand);
}

// Rows for one client command of one version: the shape (header, service, >= 1 body frame) with
// every way the service and the frame count can go wrong.
void clientShapeRows(const char* label, const QByteArrayList& header, Version version,
                     ClientCommand command)
{
    using K = ProtocolErrorKind;
    const auto tag = [label](const char* what) { return QByteArray(label) + ' ' + what; };
    clientValid(tag("with envelope body"), header + QByteArrayList{"echo"} + kBody, version,
                command);
    clientValid(tag("with one body frame"), header + QByteArrayList{"echo", "x"}, version, command);
    clientValid(tag("with one empty body frame"), header + QByteArrayList{"echo", E}, version,
                command);
    clientValid(tag("with 255-byte service"), header + QByteArrayList{QByteArray(255, 's'), "x"},
                version, command);
    clientValid(tag("with UTF-8 and spaces in the service"),
                header + QByteArrayList{"caf\xc3\xa9 v2.0", "x"}, version, command);
    clientValid(tag("with mmi.service"), header + QByteArrayList{"mmi.service", "echo"}, version,
                command);
    clientInvalid(tag("without body"), header + QByteArrayList{"echo"}, K::TooFewFrames);
    clientInvalid(tag("without service"), header, K::TooFewFrames);
    // Service names are checked where they are chosen, in requests. A reply echoes whatever the
    // client sent, even the bad name a MalformedRequest answer is about, and must still parse.
    const std::pair<const char*, QByteArray> badServices[] = {
        {"with empty service", E},
        {"with 256-byte service", QByteArray(256, 's')},
        {"with newline in the service", "ec\nho"},
        {"with NUL in the service", QByteArray("ec\0ho", 5)},
        {"with DEL in the service", "echo\x7f"},
    };
    for (const auto& [what, service] : badServices) {
        const auto frames = header + QByteArrayList{service, "x"};
        if (command == ClientCommand::Request) {
            clientInvalid(tag(what), frames, K::InvalidServiceName);
        } else {
            clientValid(tag(what), frames, version, command);
        }
    }
}

const QByteArrayList kClientRequest01 = {E, kClient01};
const QByteArrayList kClientRequest02 = {kClient02, byte(0x01)};
const QByteArrayList kClientPartial02 = {kClient02, byte(0x02)};
const QByteArrayList kClientFinal02 = {kClient02, byte(0x03)};

// Rows for a worker command with a client envelope (REQUEST, REPLY, PARTIAL, FINAL).
void workerEnvelopeRows(const char* label, const QByteArrayList& header, Version version,
                        WorkerCommand command)
{
    using K = ProtocolErrorKind;
    const auto tag = [label](const char* what) { return QByteArray(label) + ' ' + what; };
    const int client = static_cast<int>(header.size());
    workerValid(tag("with envelope body"), header + QByteArrayList{kIdentity, E} + kBody, version,
                command, 0, client, client + 2);
    workerValid(tag("with one body frame"), header + QByteArrayList{"c", E, "x"}, version, command,
                0, client, client + 2);
    workerValid(tag("with one empty body frame"), header + QByteArrayList{"c", E, E}, version,
                command, 0, client, client + 2);
    workerInvalid(tag("without body"), header + QByteArrayList{"c", E}, K::TooFewFrames);
    workerInvalid(tag("without delimiter or body"), header + QByteArrayList{"c"}, K::TooFewFrames);
    workerInvalid(tag("with nothing after the command"), header, K::TooFewFrames);
    workerInvalid(tag("without delimiter"), header + QByteArrayList{"c", "x", "y"},
                  K::MissingEmptyFrame);
    workerInvalid(tag("with empty client address"), header + QByteArrayList{E, E, "x"},
                  K::InvalidClientAddress);
    workerInvalid(tag("with the delimiter first"), header + QByteArrayList{E, "c", "x"},
                  K::InvalidClientAddress);
}

// Rows for READY, HEARTBEAT and DISCONNECT, whose frame count is fixed.
void workerFixedRows(const char* label, const QByteArrayList& header, Version version)
{
    using K = ProtocolErrorKind;
    const auto tag = [label](const char* what) { return QByteArray(label) + ' ' + what; };
    const int service = static_cast<int>(header.size());
    workerValid(tag("READY"), header + QByteArrayList{byte(0x01), "echo"}, version,
                WorkerCommand::Ready, service + 1, 0, 0);
    workerValid(tag("READY with 255-byte service"),
                header + QByteArrayList{byte(0x01), QByteArray(255, 's')}, version,
                WorkerCommand::Ready, service + 1, 0, 0);
    workerInvalid(tag("READY without service"), header + QByteArrayList{byte(0x01)},
                  K::TooFewFrames);
    workerValid(tag("READY with credit"), header + QByteArrayList{byte(0x01), "echo", "credit=32"},
                version, WorkerCommand::Ready, service + 1, 0, 0);
    workerInvalid(tag("READY with an extra frame that is not credit"),
                  header + QByteArrayList{byte(0x01), "echo", "x"}, K::InvalidCredit);
    workerInvalid(tag("READY with two extra frames"),
                  header + QByteArrayList{byte(0x01), "echo", "credit=2", "x"}, K::TooManyFrames);
    workerInvalid(tag("READY with empty service"), header + QByteArrayList{byte(0x01), E},
                  K::InvalidServiceName);
    workerInvalid(tag("READY with 256-byte service"),
                  header + QByteArrayList{byte(0x01), QByteArray(256, 's')}, K::InvalidServiceName);
    workerInvalid(tag("READY with tab in the service"), header + QByteArrayList{byte(0x01), "a\tb"},
                  K::InvalidServiceName);

    const int heartbeat = version == Version::V01 ? 0x04 : 0x05;
    const int disconnect = version == Version::V01 ? 0x05 : 0x06;
    workerValid(tag("HEARTBEAT"), header + QByteArrayList{byte(heartbeat)}, version,
                WorkerCommand::Heartbeat, 0, 0, 0);
    workerInvalid(tag("HEARTBEAT with an extra frame"),
                  header + QByteArrayList{byte(heartbeat), "x"}, K::TooManyFrames);
    workerInvalid(tag("HEARTBEAT with an empty extra frame"),
                  header + QByteArrayList{byte(heartbeat), E}, K::TooManyFrames);
    workerValid(tag("DISCONNECT"), header + QByteArrayList{byte(disconnect)}, version,
                WorkerCommand::Disconnect, 0, 0, 0);
    workerInvalid(tag("DISCONNECT with an extra frame"),
                  header + QByteArrayList{byte(disconnect), "x"}, K::TooManyFrames);

    // DECLINE (docs/PROTOCOL.md 11.2): the tagged client address and nothing else.
    const int decline = version == Version::V01 ? 0x06 : 0x07;
    const QByteArray tagged = kIdentity + QByteArray("\x00\x00\x00\x07", 4);
    workerValid(tag("DECLINE"), header + QByteArrayList{byte(decline), tagged}, version,
                WorkerCommand::Decline, 0, service + 1, 0);
    workerValid(tag("DECLINE of a one-byte address"), header + QByteArrayList{byte(decline), "c"},
                version, WorkerCommand::Decline, 0, service + 1, 0);
    workerInvalid(tag("DECLINE without address"), header + QByteArrayList{byte(decline)},
                  K::TooFewFrames);
    workerInvalid(tag("DECLINE with empty address"), header + QByteArrayList{byte(decline), E},
                  K::InvalidClientAddress);
    workerInvalid(tag("DECLINE with an extra frame"),
                  header + QByteArrayList{byte(decline), tagged, "x"}, K::TooManyFrames);
    workerInvalid(tag("DECLINE shaped like a reply"),
                  header + QByteArrayList{byte(decline), tagged, E, "x"}, K::TooManyFrames);
}

[[nodiscard]] QString unexpectedException(const std::function<void()>& parse)
{
    try {
        parse();
    } catch (const ProtocolError&) {
        // the only exception a parser may throw
    } catch (const std::exception& e) {
        return QStringLiteral("std::exception: ") + QString::fromUtf8(e.what());
    } catch (...) {
        return QStringLiteral("an exception of unknown type");
    }
    return {};
}

QString hexDump(const QByteArrayList& frames)
{
    QStringList parts;
    for (const QByteArray& frame : frames) {
        parts.append(QString::fromLatin1(frame.toHex()));
    }
    return QLatin1Char('[') + parts.join(QLatin1String(", ")) + QLatin1Char(']');
}

} // namespace

class TestMdp : public QObject {
    Q_OBJECT

private slots:
    void clientVersionOf_data();
    void clientVersionOf();
    void parseClientRequest_data();
    void parseClientRequest();
    void parseClientReply_data();
    void parseClientReply();
    void parseWorkerMessage_data();
    void parseWorkerMessage();
    void errorText_data();
    void errorText();
    void clientCommandBytes_data();
    void clientCommandBytes();
    void workerCommandBytes_data();
    void workerCommandBytes();
    void clientRoundTrip_data();
    void clientRoundTrip();
    void workerRoundTrip_data();
    void workerRoundTrip();
    void makeClientRequestBytes();
    void buildersRejectCommandsTheVersionLacks_data();
    void buildersRejectCommandsTheVersionLacks();
    void readyCredit_data();
    void readyCredit();
    void names();
    void successfulParsesDoNotAllocate();
    void mutatedFramesOnlyThrowProtocolError();

private:
    void checkClientRow(ClientMessage (*parse)(const Frames&, std::size_t));
};

void TestMdp::parseClientRequest_data()
{
    clientColumns();
    clientShapeRows("7/MDP REQUEST", kClientRequest01, Version::V01, ClientCommand::Request);
    clientShapeRows("18/MDP REQUEST", kClientRequest02, Version::V02, ClientCommand::Request);
    commonClientInvalidRows();
    // Commands only a broker sends are not requests.
    clientInvalid("18/MDP PARTIAL", kClientPartial02 + QByteArrayList{"echo"} + kBody,
                  ProtocolErrorKind::UnknownCommand);
    clientInvalid("18/MDP FINAL", kClientFinal02 + QByteArrayList{"echo"} + kBody,
                  ProtocolErrorKind::UnknownCommand);
}

void TestMdp::parseClientRequest()
{
    checkClientRow(&mdp::parseClientRequest);
}

void TestMdp::parseClientReply_data()
{
    clientColumns();
    // A 7/MDP REPLY has the request's shape; only the direction differs.
    clientShapeRows("7/MDP REPLY", kClientRequest01, Version::V01, ClientCommand::Reply);
    clientShapeRows("18/MDP PARTIAL", kClientPartial02, Version::V02, ClientCommand::Partial);
    clientShapeRows("18/MDP FINAL", kClientFinal02, Version::V02, ClientCommand::Final);
    commonClientInvalidRows();
    clientInvalid("18/MDP REQUEST", kClientRequest02 + QByteArrayList{"echo"} + kBody,
                  ProtocolErrorKind::UnknownCommand);
}

void TestMdp::parseClientReply()
{
    checkClientRow(&mdp::parseClientReply);
}

void TestMdp::checkClientRow(ClientMessage (*parse)(const Frames&, std::size_t))
{
    QFETCH(QByteArrayList, frames);
    QFETCH(int, first);
    QFETCH(bool, valid);
    QFETCH(Version, version);
    QFETCH(ClientCommand, command);
    QFETCH(ProtocolErrorKind, error);

    const Frames message = toFrames(frames);
    const auto offset = static_cast<std::size_t>(first);
    if (!valid) {
        try {
            parse(message, offset);
            QFAIL("parsed; expected a ProtocolError");
        } catch (const ProtocolError& e) {
            QCOMPARE(name(e.kind()), name(error));
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.contains(QRegularExpression(QStringLiteral("^(7/|18/)?MDP client"))),
                     qPrintable(what));
        }
        return;
    }
    const ClientMessage parsed = parse(message, offset);
    QCOMPARE(name(parsed.version), name(version));
    QCOMPARE(name(parsed.command), name(command));
    QCOMPARE(parsed.serviceFrame, offset + 2);
    QCOMPARE(parsed.bodyBegin, offset + 3);
    QVERIFY(parsed.bodyBegin < message.size());
}

void TestMdp::parseWorkerMessage_data()
{
    using K = ProtocolErrorKind;
    workerColumns();

    const QByteArrayList v01 = {E, kWorker01};
    const QByteArrayList v02 = {kWorker02};
    workerFixedRows("7/MDP", v01, Version::V01);
    workerFixedRows("18/MDP", v02, Version::V02);
    workerEnvelopeRows("7/MDP REQUEST", v01 + QByteArrayList{byte(0x02)}, Version::V01,
                       WorkerCommand::Request);
    workerEnvelopeRows("7/MDP REPLY", v01 + QByteArrayList{byte(0x03)}, Version::V01,
                       WorkerCommand::Reply);
    workerEnvelopeRows("18/MDP REQUEST", v02 + QByteArrayList{byte(0x02)}, Version::V02,
                       WorkerCommand::Request);
    workerEnvelopeRows("18/MDP PARTIAL", v02 + QByteArrayList{byte(0x03)}, Version::V02,
                       WorkerCommand::Partial);
    workerEnvelopeRows("18/MDP FINAL", v02 + QByteArrayList{byte(0x04)}, Version::V02,
                       WorkerCommand::Final);

    // The command bytes differ between versions; a parser that read the byte before the header
    // would get these wrong.
    workerInvalid("7/MDP 0x07 (DECLINE only in 18/MDP)", {E, kWorker01, byte(0x07), "c"},
                  K::UnknownCommand);
    workerValid("7/MDP 0x06 is DECLINE", {E, kWorker01, byte(0x06), "c"}, Version::V01,
                WorkerCommand::Decline, 0, 3, 0);
    workerValid("18/MDP 0x06 is DISCONNECT", {kWorker02, byte(0x06)}, Version::V02,
                WorkerCommand::Disconnect, 0, 0, 0);
    workerValid("7/MDP 0x05 is DISCONNECT", {E, kWorker01, byte(0x05)}, Version::V01,
                WorkerCommand::Disconnect, 0, 0, 0);
    workerValid("18/MDP 0x05 is HEARTBEAT", {kWorker02, byte(0x05)}, Version::V02,
                WorkerCommand::Heartbeat, 0, 0, 0);
    workerInvalid("18/MDP 0x04 is FINAL, not HEARTBEAT", {kWorker02, byte(0x04)}, K::TooFewFrames);
    workerValid("7/MDP 0x04 is HEARTBEAT", {E, kWorker01, byte(0x04)}, Version::V01,
                WorkerCommand::Heartbeat, 0, 0, 0);
    workerValid("18/MDP 0x03 is PARTIAL", {kWorker02, byte(0x03), "c", E, "x"}, Version::V02,
                WorkerCommand::Partial, 0, 2, 4);
    workerValid("7/MDP 0x03 is REPLY", {E, kWorker01, byte(0x03), "c", E, "x"}, Version::V01,
                WorkerCommand::Reply, 0, 3, 5);
    workerInvalid("7/MDP-shaped HEARTBEAT with the 18/MDP header", {E, kWorker02, byte(0x05)},
                  K::UnknownProtocol);
    workerInvalid("18/MDP-shaped HEARTBEAT with the 7/MDP header", {kWorker01, byte(0x04)},
                  K::MissingEmptyFrame);
    // The fourth frame of an 18/MDP READY can only be its credit.
    workerInvalid("18/MDP READY with the 7/MDP frame count", {kWorker02, byte(0x01), "echo", "x"},
                  K::InvalidCredit);
    workerInvalid("7/MDP READY with the 18/MDP frame count", {E, kWorker01, byte(0x01)},
                  K::TooFewFrames);

    // Bad command frames.
    workerInvalid("7/MDP command 0x00", {E, kWorker01, byte(0x00)}, K::UnknownCommand);
    workerInvalid("18/MDP command 0x00", {kWorker02, byte(0x00)}, K::UnknownCommand);
    workerInvalid("18/MDP command 0x08", {kWorker02, byte(0x08)}, K::UnknownCommand);
    workerInvalid("7/MDP command 0x07", {E, kWorker01, byte(0x07)}, K::UnknownCommand);
    workerInvalid("7/MDP ASCII '1'", {E, kWorker01, "1", "echo"}, K::UnknownCommand);
    workerInvalid("7/MDP empty command frame", {E, kWorker01, E, "echo"}, K::UnknownCommand);
    workerInvalid("18/MDP two-byte command", {kWorker02, byte(0x01) + byte(0x00), "echo"},
                  K::UnknownCommand);
    workerInvalid("7/MDP without command", {E, kWorker01}, K::TooFewFrames);
    workerInvalid("18/MDP without command", {kWorker02}, K::TooFewFrames);

    // Bad headers.
    workerInvalid("no frames", {}, K::TooFewFrames);
    workerInvalid("only the empty frame", {E}, K::TooFewFrames);
    workerInvalid("7/MDP client header", {E, kClient01, "echo", "x"}, K::UnknownProtocol);
    workerInvalid("18/MDP client header", {kClient02, byte(0x01), "echo", "x"}, K::UnknownProtocol);
    workerInvalid("MDPW03", {"MDPW03", byte(0x05)}, K::UnknownProtocol);
    workerInvalid("empty then garbage", {E, "MDPW0", byte(0x04)}, K::UnknownProtocol);
    workerInvalid("7/MDP READY without the empty frame", {kWorker01, byte(0x01), "echo"},
                  K::MissingEmptyFrame);
}

void TestMdp::parseWorkerMessage()
{
    QFETCH(QByteArrayList, frames);
    QFETCH(int, first);
    QFETCH(bool, valid);
    QFETCH(Version, version);
    QFETCH(WorkerCommand, command);
    QFETCH(int, serviceFrame);
    QFETCH(int, clientFrame);
    QFETCH(int, bodyBegin);
    QFETCH(ProtocolErrorKind, error);

    const Frames message = toFrames(frames);
    const auto offset = static_cast<std::size_t>(first);
    if (!valid) {
        try {
            (void)mdp::parseWorkerMessage(message, offset);
            QFAIL("parsed; expected a ProtocolError");
        } catch (const ProtocolError& e) {
            QCOMPARE(name(e.kind()), name(error));
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.contains(QRegularExpression(QStringLiteral("^(7/|18/)?MDP worker"))),
                     qPrintable(what));
        }
        return;
    }
    // The parser leaves fields a command does not have at 0.
    const auto absolute = [offset](int relative) {
        return relative == 0 ? std::size_t{0} : offset + static_cast<std::size_t>(relative);
    };
    const WorkerMessage parsed = mdp::parseWorkerMessage(message, offset);
    QCOMPARE(name(parsed.version), name(version));
    QCOMPARE(name(parsed.command), name(command));
    QCOMPARE(parsed.serviceFrame, absolute(serviceFrame));
    QCOMPARE(parsed.clientFrame, absolute(clientFrame));
    QCOMPARE(parsed.bodyBegin, absolute(bodyBegin));
}

void TestMdp::errorText_data()
{
    QTest::addColumn<QByteArrayList>("frames");
    QTest::addColumn<int>("first");
    QTest::addColumn<QString>("parser");
    QTest::addColumn<QString>("expected");

    // Indexes in the texts count from frame 0 of the whole message, identity included.
    QTest::newRow("18/MDP FINAL without delimiter")
        << QByteArrayList{kIdentity, kWorker02, byte(0x04), "c", "abc", "x"} << 1 << "worker"
        << "18/MDP worker FINAL: expected an empty delimiter after the client address (frame 4), "
           "got 3 bytes";
    QTest::newRow("7/MDP READY without service")
        << QByteArrayList{E, kWorker01, byte(0x01)} << 0 << "worker"
        << "7/MDP worker READY: expected 4 or 5 frames, got 3";
    QTest::newRow("18/MDP HEARTBEAT with extra frame")
        << QByteArrayList{kIdentity, kWorker02, byte(0x05), E} << 1 << "worker"
        << "18/MDP worker HEARTBEAT: expected 2 frames, got 3";
    QTest::newRow("7/MDP REPLY without body")
        << QByteArrayList{E, kWorker01, byte(0x03), "c", E} << 0 << "worker"
        << "7/MDP worker REPLY: expected at least 6 frames, got 5";
    QTest::newRow("7/MDP unknown command")
        << QByteArrayList{kIdentity, E, kWorker01, byte(0x07)} << 1 << "worker"
        << "7/MDP worker: unknown command 0x07 (frame 3)";
    QTest::newRow("18/MDP DECLINE with extra frame")
        << QByteArrayList{kIdentity, kWorker02, byte(0x07), "c", E} << 1 << "worker"
        << "18/MDP worker DECLINE: expected 3 frames, got 4";
    QTest::newRow("7/MDP client without empty frame")
        << QByteArrayList{kIdentity, kClient01, "echo", "x"} << 1 << "request"
        << "MDP client: 7/MDP needs an empty frame before \"MDPC01\" (frame 1)";
    QTest::newRow("unknown header")
        << QByteArrayList{QByteArray("MDP\x00\n", 5), "echo", "x"} << 0 << "request"
        << "MDP client: expected \"MDPC02\", or an empty frame and \"MDPC01\", at frame 0, got "
           "\"MDP\\x00\\x0a\"";
    QTest::newRow("service with control byte")
        << QByteArrayList{kClient02, byte(0x01), "ec\x01ho", "x"} << 0 << "request"
        << "18/MDP client REQUEST: service name (frame 2) has control byte 0x01 at offset 2";
    QTest::newRow("PARTIAL sent as a request")
        << QByteArrayList{kClient02, byte(0x02), "echo", "x"} << 0 << "request"
        << "18/MDP client: expected REQUEST (0x01) (frame 1), got PARTIAL (0x02), which only a "
           "broker sends";
}

void TestMdp::errorText()
{
    QFETCH(QByteArrayList, frames);
    QFETCH(int, first);
    QFETCH(QString, parser);
    QFETCH(QString, expected);

    const Frames message = toFrames(frames);
    const auto offset = static_cast<std::size_t>(first);
    try {
        if (parser == QLatin1String("worker")) {
            (void)mdp::parseWorkerMessage(message, offset);
        } else {
            (void)mdp::parseClientRequest(message, offset);
        }
        QFAIL("parsed; expected a ProtocolError");
    } catch (const ProtocolError& e) {
        QCOMPARE(QString::fromUtf8(e.what()), expected);
    }
}

void TestMdp::clientCommandBytes_data()
{
    QTest::addColumn<Version>("version");
    QTest::addColumn<ClientCommand>("command");
    QTest::addColumn<int>("expected"); // -1: the version has no byte for it

    // 7/MDP clients have no command frame at all.
    QTest::newRow("7/MDP REQUEST") << Version::V01 << ClientCommand::Request << -1;
    QTest::newRow("7/MDP REPLY") << Version::V01 << ClientCommand::Reply << -1;
    QTest::newRow("7/MDP PARTIAL") << Version::V01 << ClientCommand::Partial << -1;
    QTest::newRow("7/MDP FINAL") << Version::V01 << ClientCommand::Final << -1;
    QTest::newRow("18/MDP REQUEST") << Version::V02 << ClientCommand::Request << 0x01;
    QTest::newRow("18/MDP REPLY") << Version::V02 << ClientCommand::Reply << -1;
    QTest::newRow("18/MDP PARTIAL") << Version::V02 << ClientCommand::Partial << 0x02;
    QTest::newRow("18/MDP FINAL") << Version::V02 << ClientCommand::Final << 0x03;
}

void TestMdp::clientCommandBytes()
{
    QFETCH(Version, version);
    QFETCH(ClientCommand, command);
    QFETCH(int, expected);
    const auto byte = commandByte(version, command);
    QCOMPARE(byte ? int(*byte) : -1, expected);
}

void TestMdp::workerCommandBytes_data()
{
    QTest::addColumn<Version>("version");
    QTest::addColumn<WorkerCommand>("command");
    QTest::addColumn<int>("expected");

    QTest::newRow("7/MDP READY") << Version::V01 << WorkerCommand::Ready << 0x01;
    QTest::newRow("7/MDP REQUEST") << Version::V01 << WorkerCommand::Request << 0x02;
    QTest::newRow("7/MDP REPLY") << Version::V01 << WorkerCommand::Reply << 0x03;
    QTest::newRow("7/MDP PARTIAL") << Version::V01 << WorkerCommand::Partial << -1;
    QTest::newRow("7/MDP FINAL") << Version::V01 << WorkerCommand::Final << -1;
    QTest::newRow("7/MDP HEARTBEAT") << Version::V01 << WorkerCommand::Heartbeat << 0x04;
    QTest::newRow("7/MDP DISCONNECT") << Version::V01 << WorkerCommand::Disconnect << 0x05;
    QTest::newRow("7/MDP DECLINE") << Version::V01 << WorkerCommand::Decline << 0x06;
    QTest::newRow("18/MDP READY") << Version::V02 << WorkerCommand::Ready << 0x01;
    QTest::newRow("18/MDP REQUEST") << Version::V02 << WorkerCommand::Request << 0x02;
    QTest::newRow("18/MDP REPLY") << Version::V02 << WorkerCommand::Reply << -1;
    QTest::newRow("18/MDP PARTIAL") << Version::V02 << WorkerCommand::Partial << 0x03;
    QTest::newRow("18/MDP FINAL") << Version::V02 << WorkerCommand::Final << 0x04;
    QTest::newRow("18/MDP HEARTBEAT") << Version::V02 << WorkerCommand::Heartbeat << 0x05;
    QTest::newRow("18/MDP DISCONNECT") << Version::V02 << WorkerCommand::Disconnect << 0x06;
    QTest::newRow("18/MDP DECLINE") << Version::V02 << WorkerCommand::Decline << 0x07;
}

void TestMdp::workerCommandBytes()
{
    QFETCH(Version, version);
    QFETCH(WorkerCommand, command);
    QFETCH(int, expected);
    const auto byte = commandByte(version, command);
    QCOMPARE(byte ? int(*byte) : -1, expected);
}

void TestMdp::clientRoundTrip_data()
{
    QTest::addColumn<Version>("version");
    QTest::addColumn<ClientCommand>("command");
    QTest::addColumn<QByteArrayList>("header"); // what appendClientHeader must produce

    QTest::newRow("7/MDP REQUEST")
        << Version::V01 << ClientCommand::Request << QByteArrayList{E, kClient01};
    QTest::newRow("7/MDP REPLY") << Version::V01 << ClientCommand::Reply
                                 << QByteArrayList{E, kClient01};
    QTest::newRow("18/MDP REQUEST")
        << Version::V02 << ClientCommand::Request << QByteArrayList{kClient02, byte(0x01)};
    QTest::newRow("18/MDP PARTIAL")
        << Version::V02 << ClientCommand::Partial << QByteArrayList{kClient02, byte(0x02)};
    QTest::newRow("18/MDP FINAL") << Version::V02 << ClientCommand::Final
                                  << QByteArrayList{kClient02, byte(0x03)};
}

void TestMdp::clientRoundTrip()
{
    QFETCH(Version, version);
    QFETCH(ClientCommand, command);
    QFETCH(QByteArrayList, header);

    for (const int first : {0, 1}) {
        Frames message = toFrames(withIdentity({}, first));
        appendClientHeader(message, version, command);
        QCOMPARE(toList(message), withIdentity(header, first));
        for (const QByteArray& frame : QByteArrayList{"echo"} + kBody) {
            message.emplace_back(frame.constData(), static_cast<std::size_t>(frame.size()));
        }
        const auto offset = static_cast<std::size_t>(first);
        const ClientMessage parsed = command == ClientCommand::Request
                                         ? mdp::parseClientRequest(message, offset)
                                         : mdp::parseClientReply(message, offset);
        QCOMPARE(name(parsed.version), name(version));
        QCOMPARE(name(parsed.command), name(command));
        QCOMPARE(frameView(message[parsed.serviceFrame]), std::string_view("echo"));
        QCOMPARE(parsed.bodyBegin, offset + 3);
        QCOMPARE(message.size() - parsed.bodyBegin, std::size_t(3));
    }
}

void TestMdp::workerRoundTrip_data()
{
    QTest::addColumn<Version>("version");
    QTest::addColumn<WorkerCommand>("command");
    QTest::addColumn<QByteArrayList>("expected"); // the whole message on the wire

    const QByteArrayList v01 = {E, kWorker01};
    const QByteArrayList v02 = {kWorker02};
    const QByteArrayList tail = QByteArrayList{"client-1", E} + kBody;
    QTest::newRow("7/MDP READY") << Version::V01 << WorkerCommand::Ready
                                 << v01 + QByteArrayList{byte(0x01), "echo"};
    QTest::newRow("7/MDP REQUEST")
        << Version::V01 << WorkerCommand::Request << v01 + QByteArrayList{byte(0x02)} + tail;
    QTest::newRow("7/MDP REPLY") << Version::V01 << WorkerCommand::Reply
                                 << v01 + QByteArrayList{byte(0x03)} + tail;
    QTest::newRow("7/MDP HEARTBEAT")
        << Version::V01 << WorkerCommand::Heartbeat << v01 + QByteArrayList{byte(0x04)};
    QTest::newRow("7/MDP DISCONNECT")
        << Version::V01 << WorkerCommand::Disconnect << v01 + QByteArrayList{byte(0x05)};
    QTest::newRow("7/MDP DECLINE")
        << Version::V01 << WorkerCommand::Decline << v01 + QByteArrayList{byte(0x06), "client-1"};
    QTest::newRow("18/MDP READY") << Version::V02 << WorkerCommand::Ready
                                  << v02 + QByteArrayList{byte(0x01), "echo"};
    QTest::newRow("18/MDP REQUEST")
        << Version::V02 << WorkerCommand::Request << v02 + QByteArrayList{byte(0x02)} + tail;
    QTest::newRow("18/MDP PARTIAL")
        << Version::V02 << WorkerCommand::Partial << v02 + QByteArrayList{byte(0x03)} + tail;
    QTest::newRow("18/MDP FINAL") << Version::V02 << WorkerCommand::Final
                                  << v02 + QByteArrayList{byte(0x04)} + tail;
    QTest::newRow("18/MDP HEARTBEAT")
        << Version::V02 << WorkerCommand::Heartbeat << v02 + QByteArrayList{byte(0x05)};
    QTest::newRow("18/MDP DISCONNECT")
        << Version::V02 << WorkerCommand::Disconnect << v02 + QByteArrayList{byte(0x06)};
    QTest::newRow("18/MDP DECLINE")
        << Version::V02 << WorkerCommand::Decline << v02 + QByteArrayList{byte(0x07), "client-1"};
}

void TestMdp::workerRoundTrip()
{
    QFETCH(Version, version);
    QFETCH(WorkerCommand, command);
    QFETCH(QByteArrayList, expected);

    // Built by hand from appendWorkerHeader, and by the convenience builder where there is one.
    Frames built;
    appendWorkerHeader(built, version, command);
    Frames made;
    switch (command) {
    case WorkerCommand::Ready:
        built.emplace_back("echo", 4);
        made = makeWorkerReady(version, "echo");
        break;
    case WorkerCommand::Heartbeat:
        made = makeWorkerHeartbeat(version);
        break;
    case WorkerCommand::Disconnect:
        made = makeWorkerDisconnect(version);
        break;
    case WorkerCommand::Decline:
        built.emplace_back("client-1", 8);
        made = makeWorkerDecline(version, "client-1");
        break;
    case WorkerCommand::Request:
    case WorkerCommand::Reply:
    case WorkerCommand::Partial:
    case WorkerCommand::Final:
        built.emplace_back("client-1", 8);
        built.emplace_back();
        for (const QByteArray& frame : kBody) {
            built.emplace_back(frame.constData(), static_cast<std::size_t>(frame.size()));
        }
        if (command != WorkerCommand::Request) {
            made = makeWorkerReply(version, command, "client-1", toFrames(kBody));
        }
        break;
    }
    QCOMPARE(toList(built), expected);
    if (!made.empty()) {
        QCOMPARE(toList(made), expected);
    }

    for (const int first : {0, 1}) {
        const Frames message = toFrames(withIdentity(expected, first));
        const auto offset = static_cast<std::size_t>(first);
        const WorkerMessage parsed = mdp::parseWorkerMessage(message, offset);
        QCOMPARE(name(parsed.version), name(version));
        QCOMPARE(name(parsed.command), name(command));
        if (command == WorkerCommand::Ready) {
            QCOMPARE(frameView(message[parsed.serviceFrame]), std::string_view("echo"));
        }
        if (parsed.clientFrame != 0) {
            QCOMPARE(frameView(message[parsed.clientFrame]), std::string_view("client-1"));
        }
        if (command == WorkerCommand::Decline) {
            QCOMPARE(parsed.clientFrame, message.size() - 1);
            QCOMPARE(parsed.bodyBegin, std::size_t(0));
        } else if (parsed.clientFrame != 0) {
            QCOMPARE(message.size() - parsed.bodyBegin, std::size_t(3));
        }
    }
}

void TestMdp::makeClientRequestBytes()
{
    QCOMPARE(toList(makeClientRequest(Version::V01, "echo", toFrames(kBody))),
             QByteArrayList({E, kClient01, "echo"}) + kBody);
    QCOMPARE(toList(makeClientRequest(Version::V02, "echo", toFrames(kBody))),
             QByteArrayList({kClient02, byte(0x01), "echo"}) + kBody);
}

void TestMdp::buildersRejectCommandsTheVersionLacks_data()
{
    QTest::addColumn<std::function<void()>>("build");

    QTest::newRow("7/MDP client PARTIAL") << std::function<void()>([] {
        Frames out;
        appendClientHeader(out, Version::V01, ClientCommand::Partial);
    });
    QTest::newRow("7/MDP client FINAL") << std::function<void()>([] {
        Frames out;
        appendClientHeader(out, Version::V01, ClientCommand::Final);
    });
    QTest::newRow("18/MDP client REPLY") << std::function<void()>([] {
        Frames out;
        appendClientHeader(out, Version::V02, ClientCommand::Reply);
    });
    QTest::newRow("7/MDP worker PARTIAL") << std::function<void()>([] {
        Frames out;
        appendWorkerHeader(out, Version::V01, WorkerCommand::Partial);
    });
    QTest::newRow("7/MDP worker FINAL") << std::function<void()>([] {
        Frames out;
        appendWorkerHeader(out, Version::V01, WorkerCommand::Final);
    });
    QTest::newRow("18/MDP worker REPLY") << std::function<void()>([] {
        Frames out;
        appendWorkerHeader(out, Version::V02, WorkerCommand::Reply);
    });
    QTest::newRow("makeWorkerReply 7/MDP PARTIAL") << std::function<void()>(
        [] { (void)makeWorkerReply(Version::V01, WorkerCommand::Partial, "c", toFrames(kBody)); });
    QTest::newRow("makeWorkerReply 18/MDP REPLY") << std::function<void()>(
        [] { (void)makeWorkerReply(Version::V02, WorkerCommand::Reply, "c", toFrames(kBody)); });
    QTest::newRow("makeWorkerReply REQUEST") << std::function<void()>(
        [] { (void)makeWorkerReply(Version::V02, WorkerCommand::Request, "c", toFrames(kBody)); });
    QTest::newRow("makeWorkerReply HEARTBEAT") << std::function<void()>([] {
        (void)makeWorkerReply(Version::V01, WorkerCommand::Heartbeat, "c", toFrames(kBody));
    });
    QTest::newRow("makeWorkerReply DECLINE") << std::function<void()>(
        [] { (void)makeWorkerReply(Version::V02, WorkerCommand::Decline, "c", toFrames(kBody)); });
    QTest::newRow("makeWorkerDecline without address")
        << std::function<void()>([] { (void)makeWorkerDecline(Version::V02, {}); });
}

void TestMdp::buildersRejectCommandsTheVersionLacks()
{
    QFETCH(std::function<void()>, build);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, build());
}

void TestMdp::readyCredit_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<int>("credit"); // 0: refused as invalid_credit
    QTest::newRow("1") << QByteArray("credit=1") << 1;
    QTest::newRow("32") << QByteArray("credit=32") << 32;
    QTest::newRow("the maximum") << QByteArray("credit=1024") << 1024;
    QTest::newRow("over the maximum") << QByteArray("credit=1025") << 0;
    QTest::newRow("zero") << QByteArray("credit=0") << 0;
    QTest::newRow("negative") << QByteArray("credit=-1") << 0;
    QTest::newRow("plus sign") << QByteArray("credit=+3") << 0;
    QTest::newRow("no number") << QByteArray("credit=") << 0;
    QTest::newRow("trailing text") << QByteArray("credit=3x") << 0;
    QTest::newRow("space") << QByteArray("credit= 3") << 0;
    QTest::newRow("huge") << QByteArray("credit=99999999999999999999") << 0;
    QTest::newRow("other name") << QByteArray("window=3") << 0;
    QTest::newRow("empty") << QByteArray() << 0;
}

// The credit extension (docs/PROTOCOL.md 11.1): the value, its bounds, and the builder.
void TestMdp::readyCredit()
{
    QFETCH(QByteArray, frame);
    QFETCH(int, credit);
    for (const Version version : {Version::V01, Version::V02}) {
        const QByteArrayList header = version == Version::V01
                                          ? QByteArrayList{QByteArray(), "MDPW01", byte(0x01)}
                                          : QByteArrayList{"MDPW02", byte(0x01)};
        const Frames message = toFrames(header + QByteArrayList{"echo", frame});
        if (credit == 0) {
            try {
                (void)mdp::parseWorkerMessage(message, 0);
                QFAIL("parsed; expected invalid_credit");
            } catch (const ProtocolError& e) {
                QCOMPARE(name(e.kind()), QStringLiteral("invalid_credit"));
                QVERIFY2(QByteArray(e.what()).contains("credit=N"), e.what());
            }
            continue;
        }
        QCOMPARE(mdp::parseWorkerMessage(message, 0).credit, credit);
        const Frames built = makeWorkerReady(version, "echo", credit);
        const QByteArrayList expected = header + QByteArrayList{"echo", frame};
        QCOMPARE(toList(built), expected);
        QCOMPARE(mdp::parseWorkerMessage(built, 0).credit, credit);
    }
    QCOMPARE(mdp::parseWorkerMessage(makeWorkerReady(Version::V02, "echo"), 0).credit, 0);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, makeWorkerReady(Version::V02, "echo", 1025));
}

void TestMdp::names()
{
    // Error kinds label the broker's counters: unique, snake_case, stable.
    QCOMPARE(name(ProtocolErrorKind::TooFewFrames), QStringLiteral("too_few_frames"));
    QCOMPARE(name(ProtocolErrorKind::InvalidServiceName), QStringLiteral("invalid_service_name"));
    QSet<QString> seen;
    const QRegularExpression snakeCase(QStringLiteral("^[a-z]+(_[a-z]+)*$"));
    for (int i = 0; i < static_cast<int>(ProtocolErrorKind::Count); ++i) {
        const QString label = name(static_cast<ProtocolErrorKind>(i));
        QVERIFY2(snakeCase.match(label).hasMatch(), qPrintable(label));
        QVERIFY2(!seen.contains(label), qPrintable(label));
        seen.insert(label);
    }

    QCOMPARE(name(Version::V01), QStringLiteral("7/MDP"));
    QCOMPARE(name(Version::V02), QStringLiteral("18/MDP"));
    QCOMPARE(name(ClientCommand::Partial), QStringLiteral("PARTIAL"));
    QCOMPARE(name(WorkerCommand::Heartbeat), QStringLiteral("HEARTBEAT"));

    const ProtocolError error(ProtocolErrorKind::InvalidMethod, "text");
    const Error& base = error;
    QCOMPARE(QString::fromUtf8(base.what()), QStringLiteral("text"));
    QCOMPARE(name(error.kind()), QStringLiteral("invalid_method"));
}

// The broker parses every frame it receives; a parse that succeeds must not touch the heap.
void TestMdp::successfulParsesDoNotAllocate()
{
    enum class Parser { ClientRequest, ClientReply, Worker };
    struct Case {
        Parser parser;
        std::size_t first;
        Frames frames;
    };
    std::vector<Case> cases;
    for (const int first : {0, 1}) {
        const auto add = [&cases, first](Parser parser, const QByteArrayList& frames) {
            cases.push_back(
                {parser, static_cast<std::size_t>(first), toFrames(withIdentity(frames, first))});
        };
        add(Parser::ClientRequest, QByteArrayList{E, kClient01, "echo"} + kBody);
        add(Parser::ClientRequest, QByteArrayList{kClient02, byte(0x01), "echo"} + kBody);
        add(Parser::ClientReply, QByteArrayList{E, kClient01, "echo"} + kBody);
        add(Parser::ClientReply, QByteArrayList{kClient02, byte(0x02), "echo"} + kBody);
        add(Parser::ClientReply, QByteArrayList{kClient02, byte(0x03), "echo"} + kBody);
        add(Parser::Worker, {E, kWorker01, byte(0x01), "echo"});
        add(Parser::Worker, QByteArrayList{E, kWorker01, byte(0x02), "c", E} + kBody);
        add(Parser::Worker, QByteArrayList{E, kWorker01, byte(0x03), "c", E} + kBody);
        add(Parser::Worker, {E, kWorker01, byte(0x04)});
        add(Parser::Worker, {E, kWorker01, byte(0x05)});
        add(Parser::Worker, {E, kWorker01, byte(0x06), "c"});
        add(Parser::Worker, {kWorker02, byte(0x01), QByteArray(255, 's')});
        add(Parser::Worker, QByteArrayList{kWorker02, byte(0x02), "c", E} + kBody);
        add(Parser::Worker, QByteArrayList{kWorker02, byte(0x03), "c", E} + kBody);
        add(Parser::Worker, QByteArrayList{kWorker02, byte(0x04), "c", E} + kBody);
        add(Parser::Worker, {kWorker02, byte(0x05)});
        add(Parser::Worker, {kWorker02, byte(0x06)});
        add(Parser::Worker, {kWorker02, byte(0x07), "c"});
    }
    const Frames reply = toFrames({"r1", byte(0x00), "\xc0"});

    std::size_t checksum = 0; // keeps the calls from being optimised away
    const long before = g_allocations.load();
    for (const Case& c : cases) {
        switch (c.parser) {
        case Parser::ClientRequest:
            checksum += mdp::parseClientRequest(c.frames, c.first).bodyBegin;
            break;
        case Parser::ClientReply:
            checksum += mdp::parseClientReply(c.frames, c.first).bodyBegin;
            break;
        case Parser::Worker: {
            const WorkerMessage parsed = mdp::parseWorkerMessage(c.frames, c.first);
            checksum += parsed.bodyBegin + parsed.serviceFrame;
            if (parsed.bodyBegin != 0) {
                checksum += rpc::methodOf(c.frames, parsed.bodyBegin).size();
            }
            break;
        }
        }
    }
    checksum += rpc::parseReply(reply, 0).payloadFrame;
    const long after = g_allocations.load();
    QCOMPARE(after - before, 0L);
    QVERIFY(checksum > 0);
}

// The broker runs these parsers on whatever arrives from the network: mutated valid messages
// must never crash, read out of bounds (run this under ASan) or throw anything but ProtocolError,
// and whatever does parse must index frames that exist.
void TestMdp::mutatedFramesOnlyThrowProtocolError()
{
    const QByteArrayList tokens = {E,          kClient01,  kClient02,  kWorker01,
                                   kWorker02,  byte(0x00), byte(0x01), byte(0x02),
                                   byte(0x03), byte(0x04), byte(0x05), byte(0x06),
                                   byte(0x07), byte(0x08), "echo",     kIdentity};
    QList<QByteArrayList> corpus;
    for (const Version version : {Version::V01, Version::V02}) {
        corpus.append(toList(makeClientRequest(version, "echo", toFrames(kBody))));
        corpus.append(toList(makeWorkerReady(version, "echo")));
        corpus.append(toList(makeWorkerHeartbeat(version)));
        corpus.append(toList(makeWorkerDisconnect(version)));
        corpus.append(toList(makeWorkerDecline(version, "client")));
        for (const WorkerCommand command : {WorkerCommand::Request, WorkerCommand::Reply,
                                            WorkerCommand::Partial, WorkerCommand::Final}) {
            if (!commandByte(version, command)) {
                continue;
            }
            Frames message;
            appendWorkerHeader(message, version, command);
            for (const QByteArray& frame : QByteArrayList{"client", E} + kBody) {
                message.emplace_back(frame.constData(), static_cast<std::size_t>(frame.size()));
            }
            corpus.append(toList(message));
        }
        for (const ClientCommand command :
             {ClientCommand::Reply, ClientCommand::Partial, ClientCommand::Final}) {
            if (version == Version::V01 ? command != ClientCommand::Reply
                                        : !commandByte(version, command)) {
                continue;
            }
            Frames message;
            appendClientHeader(message, version, command);
            for (const QByteArray& frame : QByteArrayList{"echo", "r1", byte(0x00), "\xc0"}) {
                message.emplace_back(frame.constData(), static_cast<std::size_t>(frame.size()));
            }
            corpus.append(toList(message));
        }
    }

    std::mt19937 rng(0x5eed); // fixed: a failing round reproduces
    const auto below = [&rng](qsizetype bound) {
        return static_cast<qsizetype>(
            std::uniform_int_distribution<qsizetype>(0, std::max<qsizetype>(bound, 1) - 1)(rng));
    };
    const auto randomBytes = [&rng, &below](qsizetype maxSize) {
        QByteArray bytes(below(maxSize + 1), Qt::Uninitialized);
        for (char& c : bytes) {
            c = static_cast<char>(rng() & 0xff);
        }
        return bytes;
    };

    constexpr int kRounds = 5000;
    int parsed = 0;
    int checks = 0;
    for (int round = 0; round < kRounds; ++round) {
        QByteArrayList frames = corpus.at(below(corpus.size()));
        const int mutations = 1 + static_cast<int>(below(3));
        for (int m = 0; m < mutations; ++m) {
            const qsizetype at = below(frames.size());
            switch (below(9)) {
            case 0:
                if (!frames.isEmpty()) {
                    frames.removeAt(at);
                }
                break;
            case 1:
                if (!frames.isEmpty()) {
                    frames.insert(at, frames.at(at));
                }
                break;
            case 2:
                frames.insert(below(frames.size() + 1), randomBytes(8));
                break;
            case 3:
                if (!frames.isEmpty() && !frames[at].isEmpty()) {
                    frames[at][below(frames[at].size())] = static_cast<char>(rng() & 0xff);
                }
                break;
            case 4:
                if (!frames.isEmpty()) {
                    frames[at].truncate(below(frames[at].size() + 1));
                }
                break;
            case 5:
                if (!frames.isEmpty()) {
                    frames[at].append(randomBytes(4));
                }
                break;
            case 6:
                if (frames.size() > 1) {
                    frames.swapItemsAt(at, below(frames.size()));
                }
                break;
            case 7:
                if (!frames.isEmpty()) {
                    frames[at] = tokens.at(below(tokens.size()));
                }
                break;
            default:
                frames.clear();
                for (qsizetype n = below(8); n > 0; --n) {
                    frames.append(below(2) ? tokens.at(below(tokens.size())) : randomBytes(6));
                }
                break;
            }
        }
        if (below(2)) {
            frames.prepend(kIdentity);
        }

        const Frames message = toFrames(frames);
        const std::size_t size = message.size();
        const auto inRange = [size](std::size_t index) {
            if (index >= size) {
                throw std::logic_error("parser returned frame index " + std::to_string(index) +
                                       " of a " + std::to_string(size) + "-frame message");
            }
        };
        for (const std::size_t first :
             {std::size_t{0}, std::size_t{1}, std::size_t{2}, size, size + 1}) {
            const auto checkClient = [&](ClientMessage (*parse)(const Frames&, std::size_t)) {
                const ClientMessage m = parse(message, first);
                inRange(m.serviceFrame);
                inRange(m.bodyBegin);
                ++parsed;
            };
            const auto checkWorker = [&] {
                const WorkerMessage m = mdp::parseWorkerMessage(message, first);
                if (m.serviceFrame != 0) {
                    inRange(m.serviceFrame);
                }
                if (m.clientFrame != 0) {
                    inRange(m.clientFrame);
                    inRange(m.bodyBegin);
                }
                ++parsed;
            };
            const auto checkEnvelope = [&] {
                (void)rpc::methodOf(message, first);
                const rpc::RequestEnvelope request = rpc::parseRequest(message, first);
                inRange(request.argsFrame);
                ++parsed;
            };
            const auto checkReply = [&] {
                const rpc::ReplyEnvelope reply = rpc::parseReply(message, first);
                inRange(reply.payloadFrame);
                if (reply.status == rpc::Status::Error) {
                    (void)rpc::decodeError(message[reply.payloadFrame]);
                }
                ++parsed;
            };
            const std::function<void()> parsers[] = {[&] { checkClient(&mdp::parseClientRequest); },
                                                     [&] { checkClient(&mdp::parseClientReply); },
                                                     checkWorker, checkEnvelope, checkReply};
            for (const auto& parser : parsers) {
                const QString problem = unexpectedException(parser);
                if (!problem.isEmpty()) {
                    QFAIL(qPrintable(QStringLiteral("round %1, first %2, frames %3: %4")
                                         .arg(round)
                                         .arg(first)
                                         .arg(hexDump(frames), problem)));
                }
                ++checks;
            }
        }
    }
    // The mutations must leave some messages valid, or this would only test the first check.
    QVERIFY2(parsed > kRounds / 20, qPrintable(QString::number(parsed)));
    qInfo("%d parser calls on %d mutated messages, %d parsed", checks, kRounds, parsed);
}

void TestMdp::clientVersionOf_data()
{
    // -1: no client version claimed. Only the header counts; the rest may be anything.
    QTest::addColumn<QByteArrayList>("frames");
    QTest::addColumn<qulonglong>("first");
    QTest::addColumn<int>("version");
    QTest::newRow("7/MDP header, nothing after")
        << QByteArrayList{kIdentity, E, kClient01} << 1ULL << 1;
    QTest::newRow("18/MDP header, bad command")
        << QByteArrayList{kIdentity, kClient02, "zz"} << 1ULL << 2;
    QTest::newRow("7/MDP header without empty frame")
        << QByteArrayList{kIdentity, kClient01} << 1ULL << -1;
    QTest::newRow("worker header")
        << QByteArrayList{kIdentity, kWorker02, byte(0x05)} << 1ULL << -1;
    QTest::newRow("empty frame only") << QByteArrayList{kIdentity, E} << 1ULL << -1;
    QTest::newRow("identity only") << QByteArrayList{kIdentity} << 1ULL << -1;
    QTest::newRow("first past the end") << QByteArrayList{E, kClient01} << 2ULL << -1;
    // Found by fuzz_mdp (fuzz/corpus/fuzz_mdp/regression-clientversionof-size-max). This used to
    // read frames[SIZE_MAX], the memory before the vector, when first was SIZE_MAX: first + 1
    // wrapped to 0 and passed the bounds check (in the asan build zmq_msg_size then aborted).
    QTest::newRow("first SIZE_MAX") << QByteArrayList{E, kClient01}
                                    << qulonglong(std::numeric_limits<std::size_t>::max()) << -1;
}

void TestMdp::clientVersionOf()
{
    QFETCH(QByteArrayList, frames);
    QFETCH(qulonglong, first);
    QFETCH(int, version);
    const auto claimed = mdp::clientVersionOf(toFrames(frames), static_cast<std::size_t>(first));
    QCOMPARE(claimed ? (*claimed == Version::V01 ? 1 : 2) : -1, version);
}

QTEST_APPLESS_MAIN(TestMdp)
#include "tst_mdp.moc"
