// libFuzzer target for the routing core (broker/core): the input is a script of what peers do
// and how time passes (valid requests, READY, answers, DECLINE, heartbeats, raw frames, a clock
// that jumps, connections that close, peers that stop reading or vanish, evictions), played against
// a RoutingCore with a fake outbox. Whatever peers send, the core must not crash, everything it
// sends must be valid MDP, its accounting must add up after every step, and shutdown must leave
// nothing behind.

#include "fuzzframes.h"
#include "invariant.h"

#include <switchboard/routing/routingcore.h>

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/mdp.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>

using namespace switchboard;
using namespace switchboard::fuzz;
using namespace std::chrono_literals;

namespace {

const std::array<std::string, 3> kClients{"c0", "c1", "c2"};
const std::array<std::string, 3> kWorkers{"w0", "w1", "w2"};
const std::array<std::string, 4> kServices{"echo", "work", "mmi.service", "nobody"};

// Reads the script; past its end every read is 0.
struct Script {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t at = 0;

    bool done() const { return at >= size; }
    std::uint8_t byte() { return at < size ? data[at++] : 0; }
};

class FuzzOutbox final : public Outbox {
public:
    std::set<std::string> blockedClients;
    std::set<std::string> goneClients;
    std::set<std::string> goneWorkers;
    // The last few REQUESTs each worker got (a worker with credit holds several): client
    // address and request id, to answer them.
    std::map<std::string, std::deque<std::pair<std::string, std::string>>> requests;

    Delivery sendToClient(Frames& frames) override
    {
        const std::string client(frameView(frames.at(0)));
        if (goneClients.contains(client)) {
            return Delivery::Gone;
        }
        if (blockedClients.contains(client)) {
            return Delivery::WouldBlock;
        }
        try {
            (void)mdp::parseClientReply(frames, 1);
        } catch (const ProtocolError&) {
            FUZZ_REQUIRE(!"the core sent a client a message that is not an MDP reply");
        }
        frames.clear();
        return Delivery::Sent;
    }

    Delivery sendToWorker(Frames& frames) override
    {
        const std::string worker(frameView(frames.at(0)));
        if (goneWorkers.contains(worker)) {
            return Delivery::Gone;
        }
        mdp::WorkerMessage message{};
        try {
            message = mdp::parseWorkerMessage(frames, 1);
        } catch (const ProtocolError&) {
            FUZZ_REQUIRE(!"the core sent a worker a message that is not MDP");
        }
        if (message.command == mdp::WorkerCommand::Request) {
            auto& sent = requests[worker];
            sent.emplace_back(std::string(frameView(frames[message.clientFrame])),
                              std::string(frameView(frames[message.bodyBegin])));
            if (sent.size() > 4) {
                sent.pop_front();
            }
        }
        frames.clear();
        return Delivery::Sent;
    }

    PeerConnection connectionOf(const Frames& frames) override
    {
        return {static_cast<int>(frameView(frames.at(0)).back() % 2), {}};
    }
};

// Hears every event and ignores it: what the core tells is the shell's business, not the rules'.
class DeafObserver final : public RoutingObserver {};

Frames withIdentity(const std::string& identity, Frames message)
{
    Frames frames;
    frames.emplace_back(identity.data(), identity.size());
    for (auto& frame : message) {
        frames.push_back(std::move(frame));
    }
    return frames;
}

Frames clientRequest(Script& script)
{
    const std::uint8_t flags = script.byte();
    const std::string& service = kServices[(flags >> 1) % kServices.size()];
    const std::string id = "r" + std::to_string(script.byte());
    rpc::RequestOptions options;
    options.idempotent = (flags & 0x08) != 0;
    if (flags & 0x10) {
        options.timeoutMs = 1 + script.byte() * 8u;
    }
    Frames body;
    rpc::appendRequest(body, id, "m", zmq::message_t("\x90", 1), options);
    const auto version = flags & 1 ? mdp::Version::V01 : mdp::Version::V02;
    return withIdentity(kClients[(flags >> 5) % kClients.size()],
                        mdp::makeClientRequest(version, service, std::move(body)));
}

Frames workerAnswer(Script& script, const FuzzOutbox& outbox)
{
    const std::uint8_t flags = script.byte();
    const std::string& worker = kWorkers[flags % kWorkers.size()];
    const auto version = flags & 0x04 ? mdp::Version::V01 : mdp::Version::V02;
    const auto command = version == mdp::Version::V01 ? mdp::WorkerCommand::Reply
                         : flags & 0x08               ? mdp::WorkerCommand::Partial
                                                      : mdp::WorkerCommand::Final;
    std::string client = "c0";
    std::string id = "r0";
    if (auto it = outbox.requests.find(worker);
        it != outbox.requests.end() && !it->second.empty()) {
        // The newest by default; bits 5-6 pick an older one.
        const auto& sent = it->second;
        std::tie(client, id) = sent[sent.size() - 1 - ((flags >> 5) & 0x03) % sent.size()];
    }
    if (flags & 0x80) {
        // Hands the request back instead (docs/PROTOCOL.md §11.2).
        return withIdentity(worker, mdp::makeWorkerDecline(version, client));
    }
    Frames body;
    rpc::appendReply(body, zmq::message_t(id.data(), id.size()),
                     flags & 0x10 ? rpc::Status::Error : rpc::Status::Ok,
                     zmq::message_t("\xc0", 1));
    return withIdentity(worker, mdp::makeWorkerReply(version, command, client, std::move(body)));
}

// The core's accounting after every step.
void checkAccounts(const RoutingCore& core)
{
    const BrokerCounters counts = core.counters();
    std::size_t queued = 0;
    std::size_t bytes = 0;
    core.services().forEach([&](const Service& service) {
        queued += service.queued();
        for (const QueuedRequest& request : service.queue()) {
            bytes += request.bytes;
        }
        FUZZ_REQUIRE(service.idleWorkers().size() <= service.workerCount());
    });
    FUZZ_REQUIRE(queued == counts.queuedRequests);
    FUZZ_REQUIRE(bytes == core.services().queued().bytes);
    std::size_t inFlight = 0;
    core.workers().forEach([&](const RegisteredWorker& worker) {
        FUZZ_REQUIRE(static_cast<int>(worker.inFlight().size()) <= worker.capacity());
        // A worker that declined takes nothing until its HEARTBEAT (docs/PROTOCOL.md §11.2).
        FUZZ_REQUIRE(!(worker.closed() && worker.idleLinked));
        FUZZ_REQUIRE(!worker.closed() || worker.credited());
        inFlight += worker.inFlight().size();
    });
    FUZZ_REQUIRE(inFlight == counts.requestsInFlight);
    FUZZ_REQUIRE(counts.clientMessages == counts.requestsReceived + counts.malformedFromClients);
    FUZZ_REQUIRE(counts.workerMessages ==
                 counts.malformedFromWorkers + counts.workersRegistered + counts.workerHeartbeats +
                     counts.workerAnswers + counts.workerDeclines + counts.workersLeft +
                     counts.workerMessagesRefused + counts.workerMessagesIgnored);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    RoutingConfig config;
    config.heartbeatInterval = 100ms;
    config.requestTimeout = 1000ms;
    config.maxQueuePerService = 4;
    config.maxHeldReplyBytesPerClient = 1024;
    config.maxHeldReplyBytes = 2048;
    FuzzOutbox outbox;
    DeafObserver observer;
    auto now = std::chrono::steady_clock::time_point{} + 1h;
    RoutingCore core(config, outbox, observer, now);
    Script script{data, size};
    while (!script.done()) {
        const std::uint8_t op = script.byte();
        switch (op % 10) {
        case 0:
        case 1: { // a raw message: whatever frames the script says
            const std::size_t length = script.byte();
            const std::size_t taken = std::min(length, script.size - script.at);
            const std::string& peer = op % 10 == 0 ? kClients[op / 10 % kClients.size()]
                                                   : kWorkers[op / 10 % kWorkers.size()];
            Frames frames = withIdentity(peer, inputFrames(script.data + script.at, taken));
            script.at += taken;
            if (op % 10 == 0) {
                core.onClientMessage(frames, now);
            } else {
                core.onWorkerMessage(frames, now);
            }
            break;
        }
        case 2: {
            Frames frames = clientRequest(script);
            core.onClientMessage(frames, now);
            break;
        }
        case 3: {
            const std::uint8_t flags = script.byte();
            // The high bit asks for credit (docs/PROTOCOL.md §11.1), 1 to 4.
            Frames frames = withIdentity(
                kWorkers[flags % kWorkers.size()],
                mdp::makeWorkerReady(flags & 0x04 ? mdp::Version::V01 : mdp::Version::V02,
                                     kServices[(flags >> 3) % kServices.size()],
                                     flags & 0x80 ? 1 + (flags & 0x03) : 0));
            core.onWorkerMessage(frames, now);
            break;
        }
        case 4: {
            Frames frames = workerAnswer(script, outbox);
            core.onWorkerMessage(frames, now);
            break;
        }
        case 5: {
            const std::uint8_t flags = script.byte();
            const auto version = flags & 0x04 ? mdp::Version::V01 : mdp::Version::V02;
            Frames frames = withIdentity(kWorkers[flags % kWorkers.size()],
                                         flags & 0x08 ? mdp::makeWorkerDisconnect(version)
                                                      : mdp::makeWorkerHeartbeat(version));
            core.onWorkerMessage(frames, now);
            break;
        }
        case 6: {
            now += std::chrono::milliseconds(script.byte() * 8);
            const auto next = core.tick(now);
            FUZZ_REQUIRE(next > now);
            break;
        }
        case 7:
            core.onConnectionClosed(script.byte() % 3 - 1, now);
            break;
        case 8:
            (void)core.evict(kWorkers[script.byte() % kWorkers.size()], now);
            break;
        case 9: {
            const std::uint8_t flags = script.byte();
            const std::string& client = kClients[flags % kClients.size()];
            switch ((flags >> 2) % 4) {
            case 0:
                outbox.blockedClients.insert(client);
                break;
            case 1:
                outbox.blockedClients.erase(client);
                core.onClientsReading(now);
                break;
            case 2:
                outbox.goneClients.insert(client);
                break;
            default:
                outbox.goneWorkers.insert(kWorkers[flags % kWorkers.size()]);
                break;
            }
            break;
        }
        }
        checkAccounts(core);
    }
    core.shutdown(now);
    checkAccounts(core);
    const BrokerCounters counts = core.counters();
    FUZZ_REQUIRE(counts.queuedRequests == 0 && counts.requestsInFlight == 0);
    FUZZ_REQUIRE(counts.workers == 0 && counts.services == 0 && counts.heldReplies == 0);
    FUZZ_REQUIRE(core.nextDeadline() == std::chrono::steady_clock::time_point::max());
    return 0;
}
