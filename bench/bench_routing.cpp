// bench_routing: the routing core alone (no sockets, no event loop, no statistics), so that what
// its data structures cost per dispatch can be seen apart from the syscalls and wake-ups that
// dominate bench_scale. For W plain 7/MDP workers and Q queued 64-byte requests it times, on
// this thread's CPU clock, the intake of the Q requests and the drain: each answer from a worker
// goes to its client and the worker's next request comes from the queue (per answer: the last W
// answers find the queue empty). A second part times
// the expiry passes of a queue where 1 % of the requests have a shorter timeout of their own.
// One line per case, the median of --repeat runs, and each case's ratio to the first one: flat
// is 1.0.

#include "benchoptions.h"
#include "threadcpuclock.h"

#include <switchboard/routing/routingcore.h>

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/mdp.h>

#include <QCommandLineParser>
#include <QCoreApplication>

#include <msgpack.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

using namespace switchboard;
using namespace switchboard::bench;

namespace {

using Clock = std::chrono::steady_clock;

// Keeps what the core sends workers until the bench answers it; drops what goes to clients.
class LoopbackOutbox final : public Outbox {
public:
    struct Held {
        std::string worker;
        std::string client;
    };
    std::deque<Held> held;
    std::size_t toClients = 0;

    Delivery sendToClient(Frames& frames) override
    {
        ++toClients;
        frames.clear();
        return Delivery::Sent;
    }
    Delivery sendToWorker(Frames& frames) override
    {
        // [worker, "", "MDPW01", command, client, "", body...]
        if (frames.size() > 4 && frameView(frames[3]) == std::string_view("\x02", 1)) {
            held.push_back({std::string(frameView(frames[0])), std::string(frameView(frames[4]))});
        }
        frames.clear();
        return Delivery::Sent;
    }
    PeerConnection connectionOf(const Frames&) override { return {}; }
};

// Counts nothing: the core alone, without the broker's statistics.
class NullObserver final : public RoutingObserver {};

Frames withIdentity(const std::string& identity, Frames message)
{
    Frames frames;
    frames.reserve(message.size() + 1);
    frames.emplace_back(identity.data(), identity.size());
    for (auto& frame : message) {
        frames.push_back(std::move(frame));
    }
    return frames;
}

Frames clientRequest(const std::string& client, const std::string& body)
{
    Frames frames;
    frames.emplace_back(body.data(), body.size());
    return withIdentity(client,
                        mdp::makeClientRequest(mdp::Version::V01, "echo", std::move(frames)));
}

struct DrainResult {
    double intakeNsPerRequest = 0; // Q requests into the queue
    // An answer passed on to its client and, while the queue lasts, the worker's next request
    // taken from it: per answer, of the W + Q the drain passes on.
    double drainNsPerAnswer = 0;
};

DrainResult measureDrain(std::size_t workers, std::size_t queued)
{
    RoutingConfig config;
    config.maxQueuePerService = queued + workers;
    config.maxQueuedBytes = std::size_t{1} << 40;
    config.requestTimeout = std::chrono::hours(1);
    config.heartbeatInterval = std::chrono::hours(1);
    LoopbackOutbox outbox;
    NullObserver observer;
    auto now = Clock::now();
    RoutingCore core(config, outbox, observer, now);
    for (std::size_t i = 0; i < workers; ++i) {
        Frames ready =
            withIdentity("w" + std::to_string(i), mdp::makeWorkerReady(mdp::Version::V01, "echo"));
        core.onWorkerMessage(ready, now);
    }
    const std::string body(64, 'x');
    // Clients as a ROUTER names them: 5 bytes; a thousand of them.
    const auto clientName = [](std::size_t i) {
        std::string name(5, '\0');
        name[0] = 'c';
        name[1] = static_cast<char>(i & 0xff);
        name[2] = static_cast<char>((i >> 8) & 0xff);
        return name;
    };
    for (std::size_t i = 0; i < workers; ++i) {
        Frames frames = clientRequest(clientName(i % 1000), body);
        core.onClientMessage(frames, now);
    }
    const ThreadCpuClock cpu = ThreadCpuClock::ofCurrentThread();
    auto from = cpu.used();
    for (std::size_t i = 0; i < queued; ++i) {
        Frames frames = clientRequest(clientName(i % 1000), body);
        core.onClientMessage(frames, now);
    }
    DrainResult result;
    result.intakeNsPerRequest =
        static_cast<double>((cpu.used() - from).count()) / static_cast<double>(queued);
    if (core.counters().queuedRequests != queued || outbox.held.size() != workers) {
        std::fprintf(stderr, "bench_routing: the queue holds %zu, not %zu\n",
                     static_cast<std::size_t>(core.counters().queuedRequests), queued);
        std::exit(EXIT_FAILURE);
    }
    from = cpu.used();
    std::size_t answered = 0;
    while (!outbox.held.empty()) {
        LoopbackOutbox::Held next = std::move(outbox.held.front());
        outbox.held.pop_front();
        Frames reply;
        reply.emplace_back(body.data(), body.size());
        Frames frames = withIdentity(
            next.worker, mdp::makeWorkerReply(mdp::Version::V01, mdp::WorkerCommand::Reply,
                                              next.client, std::move(reply)));
        core.onWorkerMessage(frames, now);
        ++answered;
    }
    result.drainNsPerAnswer =
        static_cast<double>((cpu.used() - from).count()) / static_cast<double>(workers + queued);
    if (answered != workers + queued || outbox.toClients != answered) {
        std::fprintf(stderr, "bench_routing: %zu answers passed on, not %zu\n", outbox.toClients,
                     workers + queued);
        std::exit(EXIT_FAILURE);
    }
    return result;
}

// Q requests without workers, one in a hundred with a timeout of its own (500 ms) shorter than
// the others' (30 s), arriving 10 µs apart; then an expiry pass every 5 ms (the core's
// coalescing) for a second. Returns the CPU time per pass, in µs.
double measureExpiry(std::size_t queued)
{
    RoutingConfig config;
    config.maxQueuePerService = queued;
    config.maxQueuedBytes = std::size_t{1} << 40;
    config.requestTimeout = std::chrono::seconds(30);
    config.heartbeatInterval = std::chrono::hours(1);
    LoopbackOutbox outbox;
    NullObserver observer;
    auto now = Clock::now();
    RoutingCore core(config, outbox, observer, now);
    rpc::RequestOptions shortTimeout;
    shortTimeout.timeoutMs = 500;
    msgpack::sbuffer args;
    msgpack::pack(args, std::vector<int>{});
    for (std::size_t i = 0; i < queued; ++i) {
        Frames body;
        if (i % 100 == 0) {
            rpc::appendRequest(body, "r", "m", zmq::message_t(args.data(), args.size()),
                               shortTimeout);
        } else {
            rpc::appendRequest(body, "r", "m", zmq::message_t(args.data(), args.size()));
        }
        Frames frames =
            withIdentity("c", mdp::makeClientRequest(mdp::Version::V01, "echo", std::move(body)));
        core.onClientMessage(frames, now);
        now += std::chrono::microseconds(10);
    }
    const ThreadCpuClock cpu = ThreadCpuClock::ofCurrentThread();
    const auto from = cpu.used();
    const auto start = now;
    int passes = 0;
    while (now < start + std::chrono::seconds(1)) {
        now += std::chrono::milliseconds(5);
        core.tick(now);
        ++passes;
    }
    return std::chrono::duration<double, std::micro>(cpu.used() - from).count() / passes;
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("bench_routing"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "The routing core alone: CPU per queued request, per dispatch from the queue (W workers "
        "x Q queued) and per expiry pass, medians over --repeat runs."));
    parser.addHelpOption();
    const QCommandLineOption repeatOption(
        QStringLiteral("repeat"), QStringLiteral("Runs per case (5)."), QStringLiteral("n"));
    parser.addOption(repeatOption);
    parser.process(app);
    const std::size_t repeat = positiveOption(parser, repeatOption, 5);

    double first = 0;
    for (const std::size_t workers : {10, 100, 1000}) {
        for (const std::size_t queued : {1000, 10000, 100000}) {
            std::vector<double> intake;
            std::vector<double> drain;
            for (std::size_t r = 0; r < repeat; ++r) {
                const DrainResult result = measureDrain(workers, queued);
                intake.push_back(result.intakeNsPerRequest);
                drain.push_back(result.drainNsPerAnswer);
            }
            const double perAnswer = median(drain);
            first = first == 0 ? perAnswer : first;
            std::printf("workers=%zu queued=%zu intake_ns_per_request=%.0f "
                        "drain_ns_per_answer=%.0f ratio_to_first=%.2f\n",
                        workers, queued, median(intake), perAnswer, perAnswer / first);
            std::fflush(stdout);
        }
    }
    for (const std::size_t queued : {1000, 10000, 100000}) {
        std::vector<double> passes;
        for (std::size_t r = 0; r < repeat; ++r) {
            passes.push_back(measureExpiry(queued));
        }
        std::printf("expiry queued=%zu mixed_timeouts=1%% us_per_pass=%.1f\n", queued,
                    median(passes));
        std::fflush(stdout);
    }
    return EXIT_SUCCESS;
}
