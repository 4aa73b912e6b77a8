#include <switchboard/protocol/mdp.h>

#include <switchboard/protocol/error.h>

#include "bytetext.h"

#include <charconv>
#include <stdexcept>
#include <string>

namespace switchboard::mdp {

namespace {

using bytetext::byteCount;
using bytetext::frameRef;
using bytetext::hexByte;
using bytetext::quoted;

enum class Side : std::uint8_t { Client, Worker };

// Where a parser is in a message, for error texts such as "18/MDP worker FINAL: ...".
struct Where {
    std::optional<Version> version; // unknown until the header has been read
    Side side;
    std::string_view command; // empty until the command is known

    std::string prefix() const
    {
        std::string text = version ? std::string(toString(*version)) : std::string("MDP");
        text += side == Side::Client ? " client" : " worker";
        if (!command.empty()) {
            text += ' ';
            text += command;
        }
        text += ": ";
        return text;
    }
};

// Everything that builds an error text sits behind this [[noreturn]] call, so a message that
// parses never touches the heap: the broker runs these parsers on every frame it receives.
[[noreturn, gnu::cold]] void fail(ProtocolErrorKind kind, const Where& where,
                                  const std::string& text)
{
    throw ProtocolError(kind, where.prefix() + text);
}

std::uint8_t firstByte(const zmq::message_t& frame) noexcept
{
    return *frame.data<std::uint8_t>();
}

std::string_view headerV01(Side side) noexcept
{
    return side == Side::Client ? kClientHeaderV01 : kWorkerHeaderV01;
}

std::string_view headerV02(Side side) noexcept
{
    return side == Side::Client ? kClientHeaderV02 : kWorkerHeaderV02;
}

// 7/MDP puts an empty frame before its header and 18/MDP does not, so the header is either
// frames[first] == "MDPx02" or frames[first] empty and frames[first + 1] == "MDPx01". Returns the
// version and leaves `where` naming it.
Version readHeader(const Frames& frames, std::size_t first, Where& where)
{
    if (first >= frames.size()) {
        fail(ProtocolErrorKind::TooFewFrames, where,
             "expected a header at frame " + std::to_string(first) + ", message has " +
                 std::to_string(frames.size()) + " frames");
    }
    const std::string_view head = frameView(frames[first]);
    if (head == headerV02(where.side)) {
        where.version = Version::V02;
        return Version::V02;
    }
    if (head.empty()) {
        if (first + 1 >= frames.size()) {
            fail(ProtocolErrorKind::TooFewFrames, where,
                 "expected a header after the empty frame " + frameRef(first + 1) +
                     ", message ends there");
        }
        const std::string_view next = frameView(frames[first + 1]);
        if (next == headerV01(where.side)) {
            where.version = Version::V01;
            return Version::V01;
        }
        if (next == headerV02(where.side)) {
            fail(ProtocolErrorKind::UnknownProtocol, where,
                 "18/MDP has no empty frame before \"" + std::string(next) + "\" " +
                     frameRef(first + 1));
        }
        fail(ProtocolErrorKind::UnknownProtocol, where,
             "expected \"" + std::string(headerV01(where.side)) + "\" after the empty frame " +
                 frameRef(first + 1) + ", got " + quoted(next));
    }
    if (head == headerV01(where.side)) {
        fail(ProtocolErrorKind::MissingEmptyFrame, where,
             "7/MDP needs an empty frame before \"" + std::string(head) + "\" " + frameRef(first));
    }
    fail(ProtocolErrorKind::UnknownProtocol, where,
         "expected \"" + std::string(headerV02(where.side)) + "\", or an empty frame and \"" +
             std::string(headerV01(where.side)) + "\", at frame " + std::to_string(first) +
             ", got " + quoted(head));
}

// Reads the one-byte command frame at `index`. Returns the byte; unknown bytes are the caller's
// to judge because only it knows the version's table.
std::uint8_t readCommandByte(const Frames& frames, std::size_t index, const Where& where)
{
    if (index >= frames.size()) {
        fail(ProtocolErrorKind::TooFewFrames, where,
             "expected a command " + frameRef(index) + ", message ends there");
    }
    const zmq::message_t& frame = frames[index];
    if (frame.size() != 1) {
        fail(ProtocolErrorKind::UnknownCommand, where,
             "expected a one-byte command " + frameRef(index) + ", got " + byteCount(frame.size()));
    }
    return firstByte(frame);
}

[[noreturn]] void failUnknownCommand(std::uint8_t byte, std::size_t index, const Where& where)
{
    fail(ProtocolErrorKind::UnknownCommand, where,
         "unknown command " + hexByte(byte) + " " + frameRef(index));
}

std::optional<ClientCommand> clientCommandFromByte(Version version, std::uint8_t byte) noexcept
{
    for (const auto command : {ClientCommand::Request, ClientCommand::Reply, ClientCommand::Partial,
                               ClientCommand::Final}) {
        if (commandByte(version, command) == byte) {
            return command;
        }
    }
    return std::nullopt;
}

std::optional<WorkerCommand> workerCommandFromByte(Version version, std::uint8_t byte) noexcept
{
    for (const auto command :
         {WorkerCommand::Ready, WorkerCommand::Request, WorkerCommand::Reply,
          WorkerCommand::Partial, WorkerCommand::Final, WorkerCommand::Heartbeat,
          WorkerCommand::Disconnect, WorkerCommand::Decline}) {
        if (commandByte(version, command) == byte) {
            return command;
        }
    }
    return std::nullopt;
}

void checkFrameCount(const Frames& frames, std::size_t first, std::size_t minimum,
                     std::size_t maximum, const Where& where)
{
    const std::size_t count = frames.size() - first;
    if (count >= minimum && count <= maximum) {
        return;
    }
    const std::string expected = minimum == maximum ? std::to_string(minimum)
                                 : minimum + 1 == maximum
                                     ? std::to_string(minimum) + " or " + std::to_string(maximum)
                                 : count < minimum ? "at least " + std::to_string(minimum)
                                                   : "at most " + std::to_string(maximum);
    fail(count < minimum ? ProtocolErrorKind::TooFewFrames : ProtocolErrorKind::TooManyFrames,
         where, "expected " + expected + " frames, got " + std::to_string(count));
}

constexpr std::size_t kUnbounded = static_cast<std::size_t>(-1);

void checkServiceName(const zmq::message_t& frame, std::size_t index, const Where& where)
{
    const std::string_view name = frameView(frame);
    if (name.empty()) {
        fail(ProtocolErrorKind::InvalidServiceName, where,
             "service name " + frameRef(index) + " is empty");
    }
    if (name.size() > kMaxServiceNameSize) {
        fail(ProtocolErrorKind::InvalidServiceName, where,
             "service name " + frameRef(index) + " is " + byteCount(name.size()) + ", more than " +
                 std::to_string(kMaxServiceNameSize));
    }
    if (const std::size_t at = bytetext::findControlByte(name); at < name.size()) {
        fail(ProtocolErrorKind::InvalidServiceName, where,
             "service name " + frameRef(index) + " has control byte " +
                 hexByte(static_cast<std::uint8_t>(name[at])) + " at offset " + std::to_string(at));
    }
}

int readCredit(const zmq::message_t& frame, std::size_t index, const Where& where)
{
    const std::string_view text = frameView(frame);
    const std::string_view digits =
        text.starts_with(kCreditPrefix) ? text.substr(kCreditPrefix.size()) : std::string_view{};
    int credit = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), credit);
    if (!text.starts_with(kCreditPrefix) || digits.empty() || error != std::errc{} ||
        end != digits.data() + digits.size() || credit < 1 || credit > kMaxWorkerCredit) {
        fail(ProtocolErrorKind::InvalidCredit, where,
             "expected \"credit=N\" with N from 1 to " + std::to_string(kMaxWorkerCredit) + " " +
                 frameRef(index) + ", got " + bytetext::quoted(text));
    }
    return credit;
}

// The client address and delimiter of worker REQUEST/REPLY/PARTIAL/FINAL, at `index` on.
void checkClientEnvelope(const Frames& frames, std::size_t index, const Where& where)
{
    if (frames[index].size() == 0) {
        fail(ProtocolErrorKind::InvalidClientAddress, where,
             "client address " + frameRef(index) + " is empty");
    }
    const std::size_t delimiter = index + 1;
    if (frames[delimiter].size() != 0) {
        fail(ProtocolErrorKind::MissingEmptyFrame, where,
             "expected an empty delimiter after the client address " + frameRef(delimiter) +
                 ", got " + byteCount(frames[delimiter].size()));
    }
}

// What parseClientRequest and parseClientReply share once the command is known: the frame count
// (header, [command,] service and at least one body frame) and, for requests, the service name.
// A reply's service frame is not checked: the broker echoes what the client sent, even when that
// name was the reason for a MalformedRequest answer, and the client must still read the answer.
ClientMessage finishClientMessage(const Frames& frames, std::size_t first, Version version,
                                  ClientCommand command, const Where& where)
{
    // 7/MDP: empty + header; 18/MDP: header + command. Two frames before the service either way.
    const std::size_t serviceFrame = first + 2;
    checkFrameCount(frames, first, 4, kUnbounded, where);
    if (command == ClientCommand::Request) {
        checkServiceName(frames[serviceFrame], serviceFrame, where);
    }
    return ClientMessage{version, command, serviceFrame, serviceFrame + 1};
}

} // namespace

std::optional<Version> clientVersionOf(const Frames& frames, std::size_t first) noexcept
{
    if (first >= frames.size()) {
        return std::nullopt;
    }
    if (frameView(frames[first]) == kClientHeaderV02) {
        return Version::V02;
    }
    // Frames left, not first + 1 < size: that wraps to 0 < size for first == SIZE_MAX.
    if (frames.size() - first >= 2 && frames[first].size() == 0 &&
        frameView(frames[first + 1]) == kClientHeaderV01) {
        return Version::V01;
    }
    return std::nullopt;
}

std::string_view toString(Version version) noexcept
{
    switch (version) {
    case Version::V01:
        return "7/MDP";
    case Version::V02:
        return "18/MDP";
    }
    return "?/MDP";
}

std::string_view toString(ClientCommand command) noexcept
{
    switch (command) {
    case ClientCommand::Request:
        return "REQUEST";
    case ClientCommand::Reply:
        return "REPLY";
    case ClientCommand::Partial:
        return "PARTIAL";
    case ClientCommand::Final:
        return "FINAL";
    }
    return "UNKNOWN";
}

std::string_view toString(WorkerCommand command) noexcept
{
    switch (command) {
    case WorkerCommand::Ready:
        return "READY";
    case WorkerCommand::Request:
        return "REQUEST";
    case WorkerCommand::Reply:
        return "REPLY";
    case WorkerCommand::Partial:
        return "PARTIAL";
    case WorkerCommand::Final:
        return "FINAL";
    case WorkerCommand::Heartbeat:
        return "HEARTBEAT";
    case WorkerCommand::Disconnect:
        return "DISCONNECT";
    case WorkerCommand::Decline:
        return "DECLINE";
    }
    return "UNKNOWN";
}

std::optional<std::uint8_t> commandByte(Version version, ClientCommand command) noexcept
{
    if (version == Version::V01) {
        return std::nullopt; // 7/MDP clients have no command frame: the header says it all
    }
    switch (command) {
    case ClientCommand::Request:
        return 0x01;
    case ClientCommand::Partial:
        return 0x02;
    case ClientCommand::Final:
        return 0x03;
    case ClientCommand::Reply:
        break;
    }
    return std::nullopt;
}

std::optional<std::uint8_t> commandByte(Version version, WorkerCommand command) noexcept
{
    if (version == Version::V01) {
        switch (command) {
        case WorkerCommand::Ready:
            return 0x01;
        case WorkerCommand::Request:
            return 0x02;
        case WorkerCommand::Reply:
            return 0x03;
        case WorkerCommand::Heartbeat:
            return 0x04;
        case WorkerCommand::Disconnect:
            return 0x05;
        case WorkerCommand::Decline:
            return 0x06;
        case WorkerCommand::Partial:
        case WorkerCommand::Final:
            break;
        }
        return std::nullopt;
    }
    switch (command) {
    case WorkerCommand::Ready:
        return 0x01;
    case WorkerCommand::Request:
        return 0x02;
    case WorkerCommand::Partial:
        return 0x03;
    case WorkerCommand::Final:
        return 0x04;
    case WorkerCommand::Heartbeat:
        return 0x05;
    case WorkerCommand::Disconnect:
        return 0x06;
    case WorkerCommand::Decline:
        return 0x07;
    case WorkerCommand::Reply:
        break;
    }
    return std::nullopt;
}

ClientMessage parseClientRequest(const Frames& frames, std::size_t first)
{
    Where where{std::nullopt, Side::Client, {}};
    const Version version = readHeader(frames, first, where);
    if (version == Version::V02) {
        const std::size_t index = first + 1;
        const std::uint8_t byte = readCommandByte(frames, index, where);
        const auto command = clientCommandFromByte(version, byte);
        if (!command) {
            failUnknownCommand(byte, index, where);
        }
        if (*command != ClientCommand::Request) {
            fail(ProtocolErrorKind::UnknownCommand, where,
                 "expected REQUEST (0x01) " + frameRef(index) + ", got " +
                     std::string(toString(*command)) + " (" + hexByte(byte) +
                     "), which only a broker sends");
        }
    }
    where.command = toString(ClientCommand::Request);
    return finishClientMessage(frames, first, version, ClientCommand::Request, where);
}

ClientMessage parseClientReply(const Frames& frames, std::size_t first)
{
    Where where{std::nullopt, Side::Client, {}};
    const Version version = readHeader(frames, first, where);
    // 7/MDP replies look exactly like requests: the direction tells them apart.
    ClientCommand command = ClientCommand::Reply;
    if (version == Version::V02) {
        const std::size_t index = first + 1;
        const std::uint8_t byte = readCommandByte(frames, index, where);
        const auto parsed = clientCommandFromByte(version, byte);
        if (!parsed) {
            failUnknownCommand(byte, index, where);
        }
        if (*parsed == ClientCommand::Request) {
            fail(ProtocolErrorKind::UnknownCommand, where,
                 "expected PARTIAL (0x02) or FINAL (0x03) " + frameRef(index) +
                     ", got REQUEST (0x01), which only a client sends");
        }
        command = *parsed;
    }
    where.command = toString(command);
    return finishClientMessage(frames, first, version, command, where);
}

WorkerMessage parseWorkerMessage(const Frames& frames, std::size_t first)
{
    Where where{std::nullopt, Side::Worker, {}};
    const Version version = readHeader(frames, first, where);
    // 7/MDP: [empty, header, command]; 18/MDP: [header, command].
    const std::size_t headerFrames = version == Version::V01 ? 3 : 2;
    const std::size_t commandIndex = first + headerFrames - 1;
    const std::uint8_t byte = readCommandByte(frames, commandIndex, where);
    const auto command = workerCommandFromByte(version, byte);
    if (!command) {
        failUnknownCommand(byte, commandIndex, where);
    }
    where.command = toString(*command);

    WorkerMessage message{version, *command};
    const std::size_t args = first + headerFrames;
    switch (*command) {
    case WorkerCommand::Ready:
        checkFrameCount(frames, first, headerFrames + 1, headerFrames + 2, where);
        checkServiceName(frames[args], args, where);
        message.serviceFrame = args;
        if (frames.size() - first == headerFrames + 2) {
            message.credit = readCredit(frames[args + 1], args + 1, where);
        }
        break;
    case WorkerCommand::Heartbeat:
    case WorkerCommand::Disconnect:
        checkFrameCount(frames, first, headerFrames, headerFrames, where);
        break;
    case WorkerCommand::Decline:
        // The client address alone: no delimiter, no body, since nothing is answered.
        checkFrameCount(frames, first, headerFrames + 1, headerFrames + 1, where);
        if (frames[args].size() == 0) {
            fail(ProtocolErrorKind::InvalidClientAddress, where,
                 "client address " + frameRef(args) + " is empty");
        }
        message.clientFrame = args;
        break;
    case WorkerCommand::Request:
    case WorkerCommand::Reply:
    case WorkerCommand::Partial:
    case WorkerCommand::Final:
        // Client address, empty delimiter and at least one body frame (RFC 7 and RFC 18 both
        // require a body).
        checkFrameCount(frames, first, headerFrames + 3, kUnbounded, where);
        checkClientEnvelope(frames, args, where);
        message.clientFrame = args;
        message.bodyBegin = args + 2;
        break;
    }
    return message;
}

void appendClientHeader(Frames& out, Version version, ClientCommand command)
{
    if (version == Version::V01) {
        if (command != ClientCommand::Request && command != ClientCommand::Reply) {
            throw std::invalid_argument("7/MDP clients have no " + std::string(toString(command)) +
                                        " command");
        }
        out.emplace_back();
        out.emplace_back(kClientHeaderV01.data(), kClientHeaderV01.size());
        return;
    }
    const auto byte = commandByte(version, command);
    if (!byte) {
        throw std::invalid_argument(std::string(toString(version)) + " clients have no " +
                                    std::string(toString(command)) + " command");
    }
    out.emplace_back(kClientHeaderV02.data(), kClientHeaderV02.size());
    out.emplace_back(&*byte, 1);
}

void appendWorkerHeader(Frames& out, Version version, WorkerCommand command)
{
    const auto byte = commandByte(version, command);
    if (!byte) {
        throw std::invalid_argument(std::string(toString(version)) + " workers have no " +
                                    std::string(toString(command)) + " command");
    }
    if (version == Version::V01) {
        out.emplace_back();
        out.emplace_back(kWorkerHeaderV01.data(), kWorkerHeaderV01.size());
    } else {
        out.emplace_back(kWorkerHeaderV02.data(), kWorkerHeaderV02.size());
    }
    out.emplace_back(&*byte, 1);
}

Frames makeClientRequest(Version version, std::string_view service, Frames body)
{
    Frames out;
    out.reserve(3 + body.size());
    appendClientHeader(out, version, ClientCommand::Request);
    out.emplace_back(service.data(), service.size());
    for (zmq::message_t& frame : body) {
        out.push_back(std::move(frame));
    }
    return out;
}

Frames makeWorkerReady(Version version, std::string_view service, int credit)
{
    Frames out;
    out.reserve(5);
    appendWorkerHeader(out, version, WorkerCommand::Ready);
    out.emplace_back(service.data(), service.size());
    if (credit != 0) {
        if (credit < 1 || credit > kMaxWorkerCredit) {
            throw std::invalid_argument("credit " + std::to_string(credit) + " is not within 1.." +
                                        std::to_string(kMaxWorkerCredit));
        }
        const std::string frame = std::string(kCreditPrefix) + std::to_string(credit);
        out.emplace_back(frame.data(), frame.size());
    }
    return out;
}

Frames makeWorkerDecline(Version version, std::string_view clientAddress)
{
    if (clientAddress.empty()) {
        throw std::invalid_argument("DECLINE needs the client address of the declined request");
    }
    Frames out;
    out.reserve(4);
    appendWorkerHeader(out, version, WorkerCommand::Decline);
    out.emplace_back(clientAddress.data(), clientAddress.size());
    return out;
}

Frames makeWorkerHeartbeat(Version version)
{
    Frames out;
    appendWorkerHeader(out, version, WorkerCommand::Heartbeat);
    return out;
}

Frames makeWorkerDisconnect(Version version)
{
    Frames out;
    appendWorkerHeader(out, version, WorkerCommand::Disconnect);
    return out;
}

Frames makeWorkerReply(Version version, WorkerCommand command, std::string_view clientAddress,
                       Frames body)
{
    if (command != WorkerCommand::Reply && command != WorkerCommand::Partial &&
        command != WorkerCommand::Final) {
        throw std::invalid_argument(std::string(toString(command)) +
                                    " is not a reply a worker sends");
    }
    Frames out;
    out.reserve(5 + body.size());
    appendWorkerHeader(out, version, command);
    out.emplace_back(clientAddress.data(), clientAddress.size());
    out.emplace_back();
    for (zmq::message_t& frame : body) {
        out.push_back(std::move(frame));
    }
    return out;
}

bool isValidServiceName(std::string_view name) noexcept
{
    return !name.empty() && name.size() <= kMaxServiceNameSize &&
           bytetext::findControlByte(name) == name.size();
}

} // namespace switchboard::mdp
