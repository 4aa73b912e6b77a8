// bench_broker: request/reply through our Majordomo broker and, in the same run, through libzmq's
// own zmq_proxy with the same client and worker threads, so the ratio says what the broker costs
// on this machine. One result line per case, medians over repetitions: throughput, latency, and
// the CPU time the broker's (or the proxy's) thread spends per request.

#include "benchcase.h"
#include "benchoptions.h"
#include "echoworker.h"
#include "loadclient.h"
#include "processrun.h"
#include "referenceproxy.h"
#include "runstats.h"
#include "startline.h"
#include "threadcpuclock.h"

#include <switchboard/broker/brokerconfig.h>
#include <switchboard/broker/brokerthread.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QLoggingCategory>
#include <QMetaObject>

#include <msgpack.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace switchboard;
using namespace switchboard::bench;
using namespace std::chrono_literals;

namespace {

struct Settings {
    std::size_t requests = 0; // 0: each case's default
    int reps = 5;
    std::size_t warmupRequests = 500; // over all clients of a run
    std::chrono::milliseconds timeout{5000};
    bool verbose = false;   // every run's numbers on stderr, to judge the spread
    bool statistics = true; // the broker's per-request statistics (--no-statistics: their cost)
    bool processes = false; // every piece in a process of its own (--processes)
    mdp::Version workerVersion = mdp::Version::V01; // of the workers in --processes runs
    mdp::Version clientVersion = mdp::Version::V02; // of the clients, in both kinds of run
};

// Stops the whole program at once: a stalled broker must not turn into a hung benchmark, and
// the threads of a failed run may be blocked for good, so nothing is joined on the way out.
[[noreturn]] void fail(const BenchCase& benchCase, BenchMode mode, const std::string& why)
{
    std::fflush(stdout);
    std::fprintf(stderr, "bench_broker: case=%s mode=%s FAILED: %s\n", benchCase.name.c_str(),
                 std::string(toString(mode)).c_str(), why.c_str());
    std::fflush(stderr);
    std::_Exit(EXIT_FAILURE);
}

// The args frame: a msgpack array holding one bin of `bytes` bytes. Built once per case.
std::string encodeArgs(std::size_t bytes)
{
    std::string blob(bytes, '\0');
    for (std::size_t i = 0; i < bytes; ++i) {
        blob[i] = static_cast<char>((i * 31) & 0xff);
    }
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_array(1);
    packer.pack_bin(static_cast<std::uint32_t>(bytes));
    packer.pack_bin_body(blob.data(), static_cast<std::uint32_t>(bytes));
    return std::string(buffer.data(), buffer.size());
}

BrokerConfig benchBrokerConfig(const Settings& settings)
{
    BrokerConfig config;
    config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.adminEndpoints.clear(); // the default is a fixed port; runs must not fight over it
    config.statistics = settings.statistics;
    // A busy benchmark must never have a worker purged, whatever the scheduler does.
    config.heartbeatInterval = 10s;
    return config;
}

// One measured run of one case through one mode, with a fresh context, broker or proxy,
// workers and clients, all torn down before it returns.
RunStats measure(const BenchCase& benchCase, BenchMode mode, std::size_t requests,
                 const Settings& settings, const std::string& args)
{
    // Declared outside the try block so that a failure exits before anything is joined.
    zmq::context_t context(1);
    std::unique_ptr<BrokerThread> broker;
    std::unique_ptr<ReferenceProxy> proxy;
    std::vector<std::unique_ptr<EchoWorker>> workers;
    std::vector<std::unique_ptr<LoadClient>> clients;
    // The CPU clock of the thread that routes, read when the clients leave the start line and
    // once they are all done: no other traffic passes in between.
    std::optional<ThreadCpuClock> routerCpu;
    std::chrono::nanoseconds cpuFrom{};
    StartLine startLine(benchCase.clients, StartSignal{[&] { cpuFrom = routerCpu->used(); }});
    try {
        std::string frontend;
        std::string backend;
        if (mode == BenchMode::Broker) {
            broker = std::make_unique<BrokerThread>(benchBrokerConfig(settings), context);
            broker->start();
            // Asked on the broker's own thread, where its event loop runs every socket.
            QMetaObject::invokeMethod(
                broker->broker(), [&] { routerCpu = ThreadCpuClock::ofCurrentThread(); },
                Qt::BlockingQueuedConnection);
            frontend = broker->frontendEndpoints().value(0).toStdString();
            backend = broker->backendEndpoints().value(0).toStdString();
        } else {
            proxy = std::make_unique<ReferenceProxy>(context);
            proxy->start();
            routerCpu = proxy->cpuClock();
            frontend = proxy->frontendEndpoint();
            backend = proxy->backendEndpoint();
        }

        for (int i = 0; i < benchCase.workers; ++i) {
            workers.push_back(std::make_unique<EchoWorker>(context, backend, mode));
            workers.back()->start();
        }
        const auto workersExpected = static_cast<std::size_t>(benchCase.workers);
        if (broker) {
            // counters() is a blocking round trip to the broker thread, which paces this loop.
            const auto deadline = std::chrono::steady_clock::now() + settings.timeout;
            while (broker->counters().workers != workersExpected) {
                if (std::chrono::steady_clock::now() > deadline) {
                    fail(benchCase, mode, "workers did not register with the broker");
                }
            }
        } else if (!proxy->waitForWorkers(benchCase.workers, settings.timeout)) {
            fail(benchCase, mode, "workers did not connect to the proxy");
        }

        LoadClient::Load load;
        load.mode = mode;
        load.clientVersion = settings.clientVersion;
        load.inflight = benchCase.inflight;
        load.measuredRequests = requests / static_cast<std::size_t>(benchCase.clients);
        load.warmupRequests =
            std::max(settings.warmupRequests / static_cast<std::size_t>(benchCase.clients),
                     static_cast<std::size_t>(benchCase.inflight));
        load.replyTimeout = settings.timeout;
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
        const std::chrono::nanoseconds cpuUsed = routerCpu->used() - cpuFrom;

        ClientMeasurements measured = ClientMeasurements::gather(clients);
        if (!measured.error.empty()) {
            fail(benchCase, mode, "client: " + measured.error);
        }

        if (broker) {
            const BrokerCounters counters = broker->counters();
            if (counters.malformedTotal() != 0) {
                fail(benchCase, mode, "the broker counted malformed messages");
            }
            broker->stop(); // sends DISCONNECT: the workers leave on their own
        } else {
            proxy->stop();
        }
        context.shutdown(); // wakes any worker still blocked in a receive
        for (auto& worker : workers) {
            worker->join();
            if (!worker->error().empty()) {
                fail(benchCase, mode, "worker: " + worker->error());
            }
        }
        const auto requestsMeasured = static_cast<double>(measured.latenciesNs.size());
        RunStats stats = measured.stats();
        stats.cpuUsPerRequest =
            requestsMeasured > 0
                ? std::chrono::duration<double, std::micro>(cpuUsed).count() / requestsMeasured
                : 0;
        return stats;
    } catch (const std::exception& e) {
        fail(benchCase, mode, e.what());
    }
}

void printResult(const BenchCase& benchCase, std::size_t requests, const RunStats& broker,
                 const RunStats& proxy)
{
    const auto ratio = [](double num, double den) { return den > 0 ? num / den : 0.0; };
    std::printf("case=%s clients=%d inflight=%d workers=%d payload=%zu requests=%zu "
                "broker_rps=%.0f proxy_rps=%.0f rps_ratio=%.2f "
                "broker_p50_us=%.0f proxy_p50_us=%.0f lat_ratio=%.2f "
                "broker_p99_us=%.0f proxy_p99_us=%.0f "
                "broker_cpu_us_per_req=%.2f proxy_cpu_us_per_req=%.2f cpu_ratio=%.2f\n",
                benchCase.name.c_str(), benchCase.clients, benchCase.inflight, benchCase.workers,
                benchCase.payloadBytes, requests, broker.requestsPerSecond, proxy.requestsPerSecond,
                ratio(broker.requestsPerSecond, proxy.requestsPerSecond), broker.p50Us, proxy.p50Us,
                ratio(proxy.p50Us, broker.p50Us), broker.p99Us, proxy.p99Us, broker.cpuUsPerRequest,
                proxy.cpuUsPerRequest, ratio(proxy.cpuUsPerRequest, broker.cpuUsPerRequest));
    std::fflush(stdout);
}

// --scrape-ms: the same broker plain and scraped; ratios scraped/plain (rps: >= 0.98 is the
// goal) and plain/scraped (p50, CPU per request).
void printScrapeResult(const BenchCase& benchCase, std::size_t requests,
                       std::chrono::milliseconds interval, const RunStats& plain,
                       const RunStats& scraped)
{
    const auto ratio = [](double num, double den) { return den > 0 ? num / den : 0.0; };
    std::printf("case=%s clients=%d inflight=%d workers=%d payload=%zu requests=%zu scrape_ms=%lld "
                "plain_rps=%.0f scraped_rps=%.0f rps_ratio=%.3f "
                "plain_p50_us=%.0f scraped_p50_us=%.0f lat_ratio=%.2f "
                "plain_p99_us=%.0f scraped_p99_us=%.0f "
                "plain_cpu_us_per_req=%.2f scraped_cpu_us_per_req=%.2f cpu_ratio=%.3f\n",
                benchCase.name.c_str(), benchCase.clients, benchCase.inflight, benchCase.workers,
                benchCase.payloadBytes, requests, static_cast<long long>(interval.count()),
                plain.requestsPerSecond, scraped.requestsPerSecond,
                ratio(scraped.requestsPerSecond, plain.requestsPerSecond), plain.p50Us,
                scraped.p50Us, ratio(plain.p50Us, scraped.p50Us), plain.p99Us, scraped.p99Us,
                plain.cpuUsPerRequest, scraped.cpuUsPerRequest,
                ratio(plain.cpuUsPerRequest, scraped.cpuUsPerRequest));
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv); // BrokerThread needs one; its event loop is never run
    QCoreApplication::setApplicationName(QStringLiteral("bench_broker"));
    // One broker starts and stops per run: keep its lifecycle chatter out of the results.
    // Warnings still show, and QT_LOGGING_RULES still overrides this.
    QLoggingCategory::setFilterRules(
        QStringLiteral("switchboard.*.debug=false\nswitchboard.*.info=false"));

    const std::vector<BenchCase> allCases = standardCases();
    QString caseList;
    for (const BenchCase& benchCase : allCases) {
        caseList += QStringLiteral("\n  %1: %2 client(s) x %3 in flight, %4 workers, %5 B payload, "
                                   "%6 requests")
                        .arg(QString::fromStdString(benchCase.name))
                        .arg(benchCase.clients)
                        .arg(benchCase.inflight)
                        .arg(benchCase.workers)
                        .arg(benchCase.payloadBytes)
                        .arg(benchCase.defaultRequests);
    }

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Echo requests through the Switchboard broker and through zmq_proxy in the "
                       "same run; prints one line per case with medians over the repetitions and "
                       "the ratios broker/proxy (rps), proxy/broker (p50) and proxy/broker (CPU "
                       "time of the routing thread per request), >= 1.0 is good.\n"
                       "Cases:") +
        caseList);
    parser.addHelpOption();
    const QCommandLineOption requestsOption(
        QStringLiteral("requests"),
        QStringLiteral("Requests measured per repetition per case (default: per case)."),
        QStringLiteral("N"));
    const QCommandLineOption repsOption(
        QStringLiteral("reps"), QStringLiteral("Repetitions per case and mode (default 5)."),
        QStringLiteral("R"));
    const QCommandLineOption caseOption(
        QStringLiteral("case"),
        QStringLiteral("Run only this case; repeatable or a comma list (default: all)."),
        QStringLiteral("NAME"));
    const QCommandLineOption warmupOption(
        QStringLiteral("warmup"),
        QStringLiteral("Warm-up requests per run, over all clients, not measured (default 500)."),
        QStringLiteral("N"));
    const QCommandLineOption timeoutOption(
        QStringLiteral("timeout-ms"),
        QStringLiteral("Fail the run when a reply takes longer than this (default 5000)."),
        QStringLiteral("MS"));
    const QCommandLineOption verboseOption(
        QStringLiteral("verbose"), QStringLiteral("Print every run's numbers on stderr as well."));
    const QCommandLineOption noStatisticsOption(
        QStringLiteral("no-statistics"),
        QStringLiteral(
            "Run the broker without its per-request statistics, to measure their cost."));
    const QCommandLineOption processesOption(
        QStringLiteral("processes"),
        QStringLiteral("Run the broker (the switchboard executable) or the proxy, each worker and "
                       "the clients in processes of their own, as an outside user would; the CPU "
                       "per request is then the whole router process's."));
    const QCommandLineOption clientMdpOption(
        QStringLiteral("client-mdp"),
        QStringLiteral("The clients speak 18/MDP (2, default) or plain 7/MDP (1)."),
        QStringLiteral("1|2"));
    const QCommandLineOption workerMdpOption(
        QStringLiteral("worker-mdp"),
        QStringLiteral("With --processes: the workers speak 7/MDP (1, default) or 18/MDP (2)."),
        QStringLiteral("1|2"));
    const QCommandLineOption workerCreditOption(
        QStringLiteral("worker-credit"),
        QStringLiteral("With --processes: the broker's workers ask for this credit, N requests at "
                       "once (docs/PROTOCOL.md 11.1; default 0, plain MDP)."),
        QStringLiteral("N"));
    const QCommandLineOption libraryWorkersOption(
        QStringLiteral("library-workers"),
        QStringLiteral("With --processes: the broker's workers are Switchboard::worker (one "
                       "thread, maxInFlight = --worker-credit) rather than raw echo loops."));
    const QCommandLineOption switchboardOption(
        QStringLiteral("switchboard"),
        QStringLiteral("With --processes: the switchboard executable to run (default: the one "
                       "built with this bench), e.g. another build's, or a script that execs it "
                       "under strace."),
        QStringLiteral("PATH"));
    const QCommandLineOption scrapeOption(
        QStringLiteral("scrape-ms"),
        QStringLiteral("With --processes: compare the broker with itself while /metrics is "
                       "scraped every MS ms (switchboard --metrics) instead of with zmq_proxy; "
                       "the ratios are then scraped/plain."),
        QStringLiteral("MS"));
    // The children of a --processes run: bench_broker itself in another role.
    QCommandLineOption roleOption(QStringLiteral("role"), QStringLiteral("proxy|worker|client"),
                                  QStringLiteral("ROLE"));
    QCommandLineOption modeOption(QStringLiteral("mode"), QStringLiteral("broker|proxy"),
                                  QStringLiteral("MODE"));
    QCommandLineOption endpointOption(QStringLiteral("endpoint"), QStringLiteral("endpoint"),
                                      QStringLiteral("EP"));
    QCommandLineOption workersOption(QStringLiteral("workers"), QStringLiteral("workers"),
                                     QStringLiteral("N"));
    for (QCommandLineOption* hidden : {&roleOption, &modeOption, &endpointOption, &workersOption}) {
        hidden->setFlags(QCommandLineOption::HiddenFromHelp);
    }
    parser.addOptions({requestsOption, repsOption, caseOption, warmupOption, timeoutOption,
                       verboseOption, noStatisticsOption, processesOption, clientMdpOption,
                       workerMdpOption, workerCreditOption, libraryWorkersOption, switchboardOption,
                       scrapeOption, roleOption, modeOption, endpointOption, workersOption});
    parser.process(app);
    if (!parser.positionalArguments().isEmpty()) {
        usageError(QStringLiteral("unexpected argument %1").arg(parser.positionalArguments()[0]));
    }

    Settings settings;
    settings.requests = positiveOption(parser, requestsOption, 0);
    settings.reps = static_cast<int>(positiveOption(parser, repsOption, 5));
    settings.warmupRequests = positiveOption(parser, warmupOption, settings.warmupRequests);
    settings.verbose = parser.isSet(verboseOption);
    settings.statistics = !parser.isSet(noStatisticsOption);
    settings.timeout = std::chrono::milliseconds(positiveOption(parser, timeoutOption, 5000));
    settings.processes = parser.isSet(processesOption);
    const auto mdpVersion = [&](const QCommandLineOption& option, mdp::Version fallback) {
        if (!parser.isSet(option)) {
            return fallback;
        }
        const QString version = parser.value(option);
        if (version != QLatin1String("1") && version != QLatin1String("2")) {
            usageError(QStringLiteral("--%1 takes 1 or 2").arg(option.names().constFirst()));
        }
        return version == QLatin1String("1") ? mdp::Version::V01 : mdp::Version::V02;
    };
    settings.workerVersion = mdpVersion(workerMdpOption, settings.workerVersion);
    int workerCredit = 0;
    if (parser.isSet(workerCreditOption)) {
        bool ok = false;
        workerCredit = parser.value(workerCreditOption).toInt(&ok);
        if (!ok || workerCredit < 0 || workerCredit > mdp::kMaxWorkerCredit) {
            usageError(QStringLiteral("--worker-credit takes 0 to %1").arg(mdp::kMaxWorkerCredit));
        }
    }
    settings.clientVersion = mdpVersion(clientMdpOption, settings.clientVersion);

    std::vector<BenchCase> selected;
    for (const QString& value : parser.values(caseOption)) {
        for (const QString& name : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const auto found =
                std::find_if(allCases.begin(), allCases.end(), [&](const BenchCase& c) {
                    return c.name == name.trimmed().toStdString();
                });
            if (found == allCases.end()) {
                usageError(QStringLiteral("unknown case %1").arg(name));
            }
            selected.push_back(*found);
        }
    }
    if (selected.empty()) {
        selected = allCases;
    }

    if (parser.isSet(roleOption)) {
        const QString role = parser.value(roleOption);
        const BenchMode mode = parser.value(modeOption) == QLatin1String("proxy")
                                   ? BenchMode::Proxy
                                   : BenchMode::Broker;
        const std::string endpoint = parser.value(endpointOption).toStdString();
        if (role == QLatin1String("proxy")) {
            return runProxyRole(static_cast<int>(positiveOption(parser, workersOption, 1)),
                                settings.timeout);
        }
        if (role == QLatin1String("worker")) {
            return runWorkerRole(endpoint, mode, settings.workerVersion, workerCredit,
                                 parser.isSet(libraryWorkersOption));
        }
        if (role == QLatin1String("client") && selected.size() == 1) {
            return runClientRole(endpoint, mode, settings.clientVersion, selected[0],
                                 settings.requests, settings.warmupRequests, settings.timeout,
                                 encodeArgs(selected[0].payloadBytes));
        }
        usageError(QStringLiteral("--role %1 is for bench_broker's own children").arg(role));
    }
    ProcessRun processRun;
    processRun.switchboardExecutable = parser.isSet(switchboardOption)
                                           ? parser.value(switchboardOption).toStdString()
                                           : std::string(SWITCHBOARD_EXECUTABLE);
    processRun.selfExecutable = QCoreApplication::applicationFilePath().toStdString();
    processRun.workerVersion = settings.workerVersion;
    processRun.workerCredit = workerCredit;
    processRun.libraryWorkers = parser.isSet(libraryWorkersOption);
    processRun.clientVersion = settings.clientVersion;
    processRun.warmupRequests = settings.warmupRequests;
    processRun.timeout = settings.timeout;
    processRun.verbose = settings.verbose;
    ProcessRun scrapedRun = processRun;
    if (parser.isSet(scrapeOption)) {
        if (!settings.processes) {
            usageError(QStringLiteral("--scrape-ms needs --processes"));
        }
        scrapedRun.scrapeInterval =
            std::chrono::milliseconds(positiveOption(parser, scrapeOption, 100));
    }

    for (const BenchCase& benchCase : selected) {
        // Every client gets the same share, so the total is rounded down to a multiple of them.
        const auto clients = static_cast<std::size_t>(benchCase.clients);
        const std::size_t asked =
            settings.requests != 0 ? settings.requests : benchCase.defaultRequests;
        const std::size_t requests = std::max<std::size_t>(1, asked / clients) * clients;
        const std::string args = encodeArgs(benchCase.payloadBytes);
        std::vector<RunStats> brokerRuns;
        std::vector<RunStats> proxyRuns;
        if (scrapedRun.scrapeInterval.count() > 0) {
            std::vector<RunStats> scrapedRuns;
            for (int rep = 0; rep < settings.reps; ++rep) {
                // Alternated as below: neither always runs on a warmer machine.
                for (const bool scraped : {rep % 2 == 0, rep % 2 != 0}) {
                    const RunStats stats = measureInProcesses(
                        benchCase, BenchMode::Broker, requests, scraped ? scrapedRun : processRun);
                    if (settings.verbose) {
                        std::fprintf(stderr,
                                     "# case=%s rep=%d scraped=%d rps=%.0f p50_us=%.0f "
                                     "cpu_us_per_req=%.2f\n",
                                     benchCase.name.c_str(), rep + 1, scraped ? 1 : 0,
                                     stats.requestsPerSecond, stats.p50Us, stats.cpuUsPerRequest);
                    }
                    (scraped ? scrapedRuns : brokerRuns).push_back(stats);
                }
            }
            printScrapeResult(benchCase, requests, scrapedRun.scrapeInterval,
                              RunStats::median(brokerRuns), RunStats::median(scrapedRuns));
            continue;
        }
        for (int rep = 0; rep < settings.reps; ++rep) {
            // Alternate which mode goes first, so that neither always runs on a warmer machine.
            const bool brokerFirst = rep % 2 == 0;
            for (const BenchMode mode : {brokerFirst ? BenchMode::Broker : BenchMode::Proxy,
                                         brokerFirst ? BenchMode::Proxy : BenchMode::Broker}) {
                const RunStats stats =
                    settings.processes ? measureInProcesses(benchCase, mode, requests, processRun)
                                       : measure(benchCase, mode, requests, settings, args);
                if (settings.verbose) {
                    std::fprintf(stderr,
                                 "# case=%s rep=%d mode=%s rps=%.0f p50_us=%.0f p99_us=%.0f "
                                 "cpu_us_per_req=%.2f\n",
                                 benchCase.name.c_str(), rep + 1,
                                 std::string(toString(mode)).c_str(), stats.requestsPerSecond,
                                 stats.p50Us, stats.p99Us, stats.cpuUsPerRequest);
                }
                (mode == BenchMode::Broker ? brokerRuns : proxyRuns).push_back(stats);
            }
        }
        printResult(benchCase, requests, RunStats::median(brokerRuns), RunStats::median(proxyRuns));
    }
    return EXIT_SUCCESS;
}
