#pragma once

// A routing core with nothing around it: a fake outbox that records what would go to clients and
// workers (and can pretend a peer is gone or not reading), an observer that records events, a
// clock the test moves by hand, and builders for the messages peers send.

#include <switchboard/routing/registeredworker.h>
#include <switchboard/routing/routingcore.h>
#include <switchboard/routing/service.h>

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/mdp.h>

#include <msgpack.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace switchboard::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline std::string textOf(const zmq::message_t& frame)
{
    return std::string(frameView(frame));
}

// What a client received: its MDP header read, and the envelope's status and error if it is one.
struct ClientAnswer {
    std::string client;
    mdp::Version version = mdp::Version::V02;
    mdp::ClientCommand command = mdp::ClientCommand::Final;
    std::string service;
    Frames body;

    std::string requestId() const { return body.empty() ? std::string() : textOf(body[0]); }
    bool isError() const { return body.size() >= 3 && textOf(body[1]) == std::string(1, '\x01'); }
    rpc::ErrorInfo error() const { return rpc::decodeError(body.at(2)); }
    std::string errorType() const { return isError() ? error().type : std::string(); }
    std::string payload() const { return body.size() >= 3 ? textOf(body[2]) : std::string(); }
};

// What a worker received.
struct WorkerDelivery {
    std::string worker;
    mdp::WorkerMessage message;
    Frames frames; // [worker identity, MDP frames...]

    mdp::WorkerCommand command() const { return message.command; }
    std::string client() const { return textOf(frames.at(message.clientFrame)); }
    std::string requestId() const { return textOf(frames.at(message.bodyBegin)); }
    std::string method() const { return textOf(frames.at(message.bodyBegin + 1)); }
};

class FakeOutbox final : public Outbox {
public:
    std::deque<ClientAnswer> toClients;
    std::deque<WorkerDelivery> toWorkers;
    std::set<std::string> goneClients;
    std::set<std::string> goneWorkers;
    std::set<std::string> blockedClients;   // not reading: WouldBlock
    std::map<std::string, int> connections; // worker identity -> connection id

    Delivery sendToClient(Frames& frames) override
    {
        const std::string client = textOf(frames.at(0));
        if (goneClients.contains(client)) {
            return Delivery::Gone;
        }
        if (blockedClients.contains(client)) {
            return Delivery::WouldBlock;
        }
        const mdp::ClientMessage message = mdp::parseClientReply(frames, 1);
        ClientAnswer answer{
            client, message.version, message.command, textOf(frames.at(message.serviceFrame)), {}};
        for (std::size_t i = message.bodyBegin; i < frames.size(); ++i) {
            answer.body.push_back(std::move(frames[i]));
        }
        frames.clear();
        toClients.push_back(std::move(answer));
        return Delivery::Sent;
    }

    Delivery sendToWorker(Frames& frames) override
    {
        const std::string worker = textOf(frames.at(0));
        if (goneWorkers.contains(worker)) {
            return Delivery::Gone;
        }
        WorkerDelivery delivery{worker, mdp::parseWorkerMessage(frames, 1), {}};
        delivery.frames = std::move(frames);
        frames.clear();
        toWorkers.push_back(std::move(delivery));
        return Delivery::Sent;
    }

    PeerConnection connectionOf(const Frames& frames) override
    {
        const auto it = connections.find(textOf(frames.at(0)));
        return {it == connections.end() ? -1 : it->second, "tcp://192.0.2.7:40000"};
    }

    // The messages sent to one peer, in order, removed from the record.
    std::vector<ClientAnswer> takeFor(const std::string& client)
    {
        std::vector<ClientAnswer> taken;
        std::erase_if(toClients, [&](ClientAnswer& answer) {
            if (answer.client != client) {
                return false;
            }
            taken.push_back(std::move(answer));
            return true;
        });
        return taken;
    }
    std::vector<WorkerDelivery> requestsFor(const std::string& worker)
    {
        std::vector<WorkerDelivery> taken;
        std::erase_if(toWorkers, [&](WorkerDelivery& delivery) {
            if (delivery.worker != worker || delivery.command() != mdp::WorkerCommand::Request) {
                return false;
            }
            taken.push_back(std::move(delivery));
            return true;
        });
        return taken;
    }
    int commandsTo(const std::string& worker, mdp::WorkerCommand command) const
    {
        return static_cast<int>(
            std::count_if(toWorkers.begin(), toWorkers.end(), [&](const auto& d) {
                return d.worker == worker && d.command() == command;
            }));
    }
};

// Every event as a line "kind detail", and meters that count what the statistics would see.
class RecordingObserver final : public RoutingObserver {
public:
    struct Meter final : MeterSlot {
        explicit Meter(std::string meterName)
            : name(std::move(meterName))
        {}
        std::string name;
        int received = 0;
        int answered = 0;
        int failed = 0;
        int errors = 0;
    };

    std::vector<std::string> events;
    std::deque<Meter> meters; // stable addresses
    std::vector<std::string> servicesRemoved;

    Meter& meterOf(const std::string& name)
    {
        for (Meter& meter : meters) {
            if (meter.name == name) {
                return meter;
            }
        }
        return meters.emplace_back(name);
    }
    bool saw(const std::string& event) const
    {
        return std::find(events.begin(), events.end(), event) != events.end();
    }

    MeterSlot* serviceAdded(std::string_view name, TimePoint) override
    {
        return &meterOf("service:" + std::string(name));
    }
    void serviceRemoved(MeterSlot* service) override
    {
        servicesRemoved.push_back(static_cast<Meter*>(service)->name);
    }
    MeterSlot* requestReceived(const Service* service, std::string_view method, TimePoint) override
    {
        if (!service) {
            return nullptr;
        }
        Meter& meter = meterOf(service->name() + "." + std::string(method));
        ++meter.received;
        return &meter;
    }
    void requestAnswered(const Service&, MeterSlot* method, Clock::duration, Clock::duration,
                         bool error, TimePoint) override
    {
        auto* meter = static_cast<Meter*>(method);
        ++meter->answered;
        meter->errors += error ? 1 : 0;
    }
    void requestFailed(const Service& service, MeterSlot* method, RequestFailure why,
                       std::chrono::milliseconds, TimePoint) override
    {
        if (method) {
            ++static_cast<Meter*>(method)->failed;
        }
        static const char* const kWhy[] = {"QueueFull", "Expired", "WorkerLost", "Shutdown"};
        events.push_back(std::string("failed ") + kWhy[static_cast<int>(why)] + " " +
                         service.name());
    }
    void workerJoined(const RegisteredWorker& worker, TimePoint) override
    {
        events.push_back("joined " + worker.identity());
    }
    void workerLeft(const RegisteredWorker& worker, TimePoint) override
    {
        events.push_back("left " + worker.identity());
    }
    void workerPurged(const RegisteredWorker& worker, WorkerLoss why, TimePoint) override
    {
        events.push_back((why == WorkerLoss::Silent ? "silent " : "closed ") + worker.identity());
    }
    void workerEvicted(const RegisteredWorker& worker, TimePoint) override
    {
        events.push_back("evicted " + worker.identity());
    }
    void workerViolated(const RegisteredWorker& worker, std::string_view why, TimePoint) override
    {
        events.push_back("violated " + worker.identity() + ": " + std::string(why));
    }
    void strangerRefused(std::string_view identity, mdp::WorkerCommand command, TimePoint) override
    {
        events.push_back("stranger " + std::string(identity) + " " +
                         std::string(mdp::toString(command)));
    }
    void reservedServiceRefused(std::string_view identity, std::string_view service,
                                TimePoint) override
    {
        events.push_back("reserved " + std::string(identity) + " " + std::string(service));
    }
    void malformed(const ProtocolError&, bool fromWorker, std::string_view peer, std::string_view,
                   TimePoint) override
    {
        events.push_back(std::string("malformed ") + (fromWorker ? "worker " : "client ") +
                         std::string(peer));
    }
    void clientNotReading(std::string_view client, TimePoint) override
    {
        events.push_back("not reading " + std::string(client));
    }
    void clientAtBound(std::string_view client, std::size_t, TimePoint) override
    {
        events.push_back("at bound " + std::string(client));
    }
    void heldRepliesDropped(std::string_view client, std::size_t replies, std::size_t, HeldDrop,
                            TimePoint) override
    {
        events.push_back("dropped " + std::to_string(replies) + " for " + std::string(client));
    }
};

inline zmq::message_t packedArgs()
{
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, std::vector<int>{1, 2});
    return zmq::message_t(buffer.data(), buffer.size());
}

// A client request as the broker's ROUTER reads it: [client identity, MDP frames...].
inline Frames request(const std::string& client, const std::string& service, const std::string& id,
                      mdp::Version version = mdp::Version::V02,
                      std::optional<rpc::RequestOptions> options = std::nullopt,
                      const std::string& method = "echo")
{
    Frames body;
    if (options) {
        rpc::appendRequest(body, id, method, packedArgs(), *options);
    } else {
        rpc::appendRequest(body, id, method, packedArgs());
    }
    Frames frames;
    frames.emplace_back(client.data(), client.size());
    for (auto& frame : mdp::makeClientRequest(version, service, std::move(body))) {
        frames.push_back(std::move(frame));
    }
    return frames;
}

inline rpc::RequestOptions idempotent()
{
    rpc::RequestOptions options;
    options.idempotent = true;
    return options;
}

inline Frames fromWorker(const std::string& worker, Frames message)
{
    Frames frames;
    frames.emplace_back(worker.data(), worker.size());
    for (auto& frame : message) {
        frames.push_back(std::move(frame));
    }
    return frames;
}

// A worker's answer to `delivery`: FINAL (or 7/MDP REPLY) or PARTIAL, status OK with `payload`.
inline Frames answer(const WorkerDelivery& delivery, const std::string& payload,
                     mdp::WorkerCommand command = mdp::WorkerCommand::Final,
                     mdp::Version version = mdp::Version::V02, rpc::Status status = rpc::Status::Ok)
{
    Frames body;
    const std::string id = delivery.requestId();
    rpc::appendReply(body, zmq::message_t(id.data(), id.size()), status,
                     zmq::message_t(payload.data(), payload.size()));
    return fromWorker(delivery.worker,
                      mdp::makeWorkerReply(version, command, delivery.client(), std::move(body)));
}

// The core, its outbox and observer, and a clock that only moves when the test says so.
struct Harness {
    explicit Harness(RoutingConfig config = defaultConfig())
        : core(config, outbox, observer, now)
    {}

    static RoutingConfig defaultConfig()
    {
        RoutingConfig config;
        config.heartbeatInterval = 1000ms;
        config.liveness = 3;
        config.requestTimeout = 5000ms;
        return config;
    }

    void advance(Clock::duration by)
    {
        now += by;
        core.tick(now);
    }
    void client(Frames frames) { core.onClientMessage(frames, now); }
    void worker(Frames frames) { core.onWorkerMessage(frames, now); }
    void ready(const std::string& worker, const std::string& service,
               mdp::Version version = mdp::Version::V02, int credit = 0)
    {
        this->worker(fromWorker(worker, mdp::makeWorkerReady(version, service, credit)));
    }

    Clock::time_point now = Clock::time_point{} + 1000h;
    FakeOutbox outbox;
    RecordingObserver observer;
    RoutingCore core;
};

} // namespace switchboard::testing
