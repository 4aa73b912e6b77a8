// bench_rpc: echo calls through the broker made with clientlib and workerlib, and, in the same
// run and through the same broker, with the raw 18/MDP peers of bench_broker (hand-written
// DEALER loops with no library in between). The ratio lib/raw says what the libraries cost.
// One result line per case, medians over repetitions.

#include "benchoptions.h"
#include "echoworker.h"
#include "libloadclient.h"
#include "loadclient.h"
#include "runstats.h"

#include <switchboard/broker/brokerthread.h>
#include <switchboard/client.h>
#include <switchboard/worker.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QLoggingCategory>

#include <msgpack.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace switchboard;
using namespace switchboard::bench;
using namespace std::chrono_literals;

namespace {

enum class Peers { Raw, Lib };

const char* toString(Peers peers)
{
    return peers == Peers::Raw ? "raw" : "lib";
}

struct RpcCase {
    std::string name;
    int clients;  // threads sharing one Client (lib) or each with a DEALER (raw)
    int inflight; // per client thread; above 1 the lib client uses callThen()
    int workers;  // raw echo workers, or one Worker with this many threads (and credit)
    std::size_t payloadBytes;
    std::size_t requests;
};

const std::vector<RpcCase>& allCases()
{
    static const std::vector<RpcCase> cases{
        {"lat_1x1", 1, 1, 1, 16, 3000},
        {"thr_4x1_w4", 4, 1, 4, 16, 20000},
        {"async_1x32_w4", 1, 32, 4, 16, 20000},
        {"big_1x1_64k", 1, 1, 1, 64 * 1024, 1500},
    };
    return cases;
}

[[noreturn]] void fail(const RpcCase& benchCase, Peers peers, const std::string& why)
{
    std::fflush(stdout);
    std::fprintf(stderr, "bench_rpc: case=%s peers=%s FAILED: %s\n", benchCase.name.c_str(),
                 toString(peers), why.c_str());
    std::_Exit(EXIT_FAILURE);
}

std::vector<char> makeBlob(std::size_t bytes)
{
    std::vector<char> blob(bytes);
    for (std::size_t i = 0; i < bytes; ++i) {
        blob[i] = static_cast<char>((i * 31) & 0xff);
    }
    return blob;
}

// The raw clients' args frame: the same msgpack [bin] the lib client packs from the blob.
std::string encodeArgs(const std::vector<char>& blob)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_array(1);
    packer.pack(blob);
    return std::string(buffer.data(), buffer.size());
}

void waitForWorkers(BrokerThread& broker, std::size_t expected, const RpcCase& benchCase,
                    Peers peers)
{
    // counters() is a blocking round trip to the broker thread, which paces this loop.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (broker.counters().workers != expected) {
        if (std::chrono::steady_clock::now() > deadline) {
            fail(benchCase, peers, "workers did not register with the broker");
        }
    }
}

template <typename Clients>
RunStats collect(Clients& clients, const RpcCase& benchCase, Peers peers)
{
    ClientMeasurements measured = ClientMeasurements::gather(clients);
    if (!measured.error.empty()) {
        fail(benchCase, peers, "client: " + measured.error);
    }
    return measured.stats();
}

RunStats measure(const RpcCase& benchCase, Peers peers, std::size_t warmup)
{
    zmq::context_t context(1);
    BrokerConfig config;
    config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.adminEndpoints.clear();  // the default is a fixed port; runs must not fight over it
    config.heartbeatInterval = 10s; // a busy run must never have a worker purged
    BrokerThread broker(config, context);
    broker.start();
    const std::string frontend = broker.frontendEndpoints().value(0).toStdString();
    const std::string backend = broker.backendEndpoints().value(0).toStdString();

    const std::vector<char> blob = makeBlob(benchCase.payloadBytes);
    const std::size_t perClient = benchCase.requests / static_cast<std::size_t>(benchCase.clients);
    const std::size_t warmupPerClient =
        std::max(warmup / static_cast<std::size_t>(benchCase.clients),
                 static_cast<std::size_t>(benchCase.inflight));
    StartLine startLine(benchCase.clients);
    RunStats stats;

    try {
        if (peers == Peers::Raw) {
            const std::string args = encodeArgs(blob);
            std::vector<std::unique_ptr<EchoWorker>> workers;
            for (int i = 0; i < benchCase.workers; ++i) {
                workers.push_back(
                    std::make_unique<EchoWorker>(context, backend, BenchMode::Broker));
                workers.back()->start();
            }
            waitForWorkers(broker, static_cast<std::size_t>(benchCase.workers), benchCase, peers);
            LoadClient::Load load;
            load.mode = BenchMode::Broker;
            load.inflight = benchCase.inflight;
            load.measuredRequests = perClient;
            load.warmupRequests = warmupPerClient;
            std::vector<std::unique_ptr<LoadClient>> clients;
            for (int i = 0; i < benchCase.clients; ++i) {
                clients.push_back(
                    std::make_unique<LoadClient>(context, frontend, load, args, startLine));
            }
            for (auto& client : clients) {
                client->start();
            }
            for (auto& client : clients) {
                client->join();
            }
            stats = collect(clients, benchCase, peers);
            broker.stop(); // DISCONNECT: the raw workers leave on their own
            context.shutdown();
            for (auto& worker : workers) {
                worker->join();
            }
        } else {
            WorkerOptions options;
            options.threads = benchCase.workers;
            options.heartbeatInterval = 10s;
            Worker worker(context, backend, "echo", options);
            worker.handle("echo", [](const msgpack::object& payload) { return payload; });
            worker.start();
            // One session whatever the threads, holding as many requests (READY credit).
            waitForWorkers(broker, 1, benchCase, peers);
            {
                Client client(context, frontend);
                LibLoadClient::Load load;
                load.inflight = benchCase.inflight;
                load.measuredRequests = perClient;
                load.warmupRequests = warmupPerClient;
                std::vector<std::unique_ptr<LibLoadClient>> clients;
                for (int i = 0; i < benchCase.clients; ++i) {
                    clients.push_back(
                        std::make_unique<LibLoadClient>(client, load, blob, startLine));
                }
                for (auto& loadClient : clients) {
                    loadClient->start();
                }
                for (auto& loadClient : clients) {
                    loadClient->join();
                }
                stats = collect(clients, benchCase, peers);
            }
            worker.stop();
            worker.wait();
            broker.stop();
        }
    } catch (const std::exception& e) {
        fail(benchCase, peers, e.what());
    }
    return stats;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv); // BrokerThread needs one; its event loop is never run
    QCoreApplication::setApplicationName(QStringLiteral("bench_rpc"));
    QLoggingCategory::setFilterRules(
        QStringLiteral("switchboard.*.debug=false\nswitchboard.*.info=false"));

    QString caseList;
    for (const RpcCase& c : allCases()) {
        caseList += QStringLiteral("\n  %1: %2 client thread(s) x %3 in flight, %4 worker(s), "
                                   "%5 B payload, %6 calls")
                        .arg(QString::fromStdString(c.name))
                        .arg(c.clients)
                        .arg(c.inflight)
                        .arg(c.workers)
                        .arg(c.payloadBytes)
                        .arg(c.requests);
    }
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Echo calls through the broker with clientlib + workerlib and with raw "
                       "18/MDP peers in the same run; prints one line per case with medians and "
                       "the ratios lib/raw (calls/s) and raw/lib (p50), >= 0.8 is the target.\n"
                       "Cases:") +
        caseList);
    parser.addHelpOption();
    const QCommandLineOption repsOption(QStringLiteral("reps"),
                                        QStringLiteral("Repetitions per case (default 5)."),
                                        QStringLiteral("R"));
    const QCommandLineOption requestsOption(QStringLiteral("requests"),
                                            QStringLiteral("Calls measured per repetition."),
                                            QStringLiteral("N"));
    const QCommandLineOption caseOption(QStringLiteral("case"),
                                        QStringLiteral("Run only this case (repeatable)."),
                                        QStringLiteral("NAME"));
    const QCommandLineOption verboseOption(QStringLiteral("verbose"),
                                           QStringLiteral("Every run's numbers on stderr."));
    parser.addOptions({repsOption, requestsOption, caseOption, verboseOption});
    parser.process(app);

    const int reps = static_cast<int>(positiveOption(parser, repsOption, 5));
    const std::size_t requests = positiveOption(parser, requestsOption, 0);
    std::vector<RpcCase> selected;
    for (const RpcCase& c : allCases()) {
        if (!parser.isSet(caseOption) ||
            parser.values(caseOption).contains(QString::fromStdString(c.name))) {
            selected.push_back(c);
            if (requests != 0) {
                selected.back().requests = requests;
            }
        }
    }
    if (selected.empty()) {
        std::fprintf(stderr, "bench_rpc: no such case (see --help)\n");
        return 2;
    }

    for (const RpcCase& benchCase : selected) {
        std::vector<RunStats> raw;
        std::vector<RunStats> lib;
        for (int rep = 0; rep < reps; ++rep) {
            // Alternate which goes first, so that neither always runs on a warmer machine.
            const bool rawFirst = rep % 2 == 0;
            for (const Peers peers :
                 {rawFirst ? Peers::Raw : Peers::Lib, rawFirst ? Peers::Lib : Peers::Raw}) {
                const RunStats stats = measure(benchCase, peers, 500);
                if (parser.isSet(verboseOption)) {
                    std::fprintf(stderr, "# case=%s rep=%d peers=%s rps=%.0f p50_us=%.0f\n",
                                 benchCase.name.c_str(), rep + 1, toString(peers),
                                 stats.requestsPerSecond, stats.p50Us);
                }
                (peers == Peers::Raw ? raw : lib).push_back(stats);
            }
        }
        const RunStats r = RunStats::median(raw);
        const RunStats l = RunStats::median(lib);
        std::printf("case=%s clients=%d inflight=%d workers=%d payload=%zu calls=%zu "
                    "lib_rps=%.0f raw_rps=%.0f rps_ratio=%.2f lib_p50_us=%.0f raw_p50_us=%.0f "
                    "lat_ratio=%.2f lib_p99_us=%.0f raw_p99_us=%.0f\n",
                    benchCase.name.c_str(), benchCase.clients, benchCase.inflight,
                    benchCase.workers, benchCase.payloadBytes, benchCase.requests,
                    l.requestsPerSecond, r.requestsPerSecond,
                    r.requestsPerSecond > 0 ? l.requestsPerSecond / r.requestsPerSecond : 0.0,
                    l.p50Us, r.p50Us, l.p50Us > 0 ? r.p50Us / l.p50Us : 0.0, l.p99Us, r.p99Us);
        std::fflush(stdout);
    }
    return EXIT_SUCCESS;
}
