#include "processrun.h"

#include "echoworker.h"
#include "loadclient.h"
#include "metricsscraper.h"
#include "processusage.h"
#include "referenceproxy.h"
#include "startline.h"

#include <switchboard/worker.h>

#include <QProcess>
#include <QStringList>

#include <zmq.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace switchboard::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Long enough that heartbeats cost nothing measurable in a run.
constexpr std::chrono::milliseconds kBrokerHeartbeat{10000};

[[noreturn]] void fail(const BenchCase& benchCase, BenchMode mode, const QString& why)
{
    std::fflush(stdout);
    std::fprintf(stderr, "bench_broker: case=%s mode=%s (processes) FAILED: %s\n",
                 benchCase.name.c_str(), std::string(toString(mode)).c_str(), qPrintable(why));
    std::fflush(stderr);
    std::_Exit(EXIT_FAILURE);
}

// The children of one run; killed when it ends, whatever happened.
class Children {
public:
    ~Children()
    {
        for (auto& child : m_children) {
            child->kill();
            child->waitForFinished(2000);
        }
    }

    QProcess& start(const QString& program, const QStringList& arguments, const BenchCase& c,
                    BenchMode mode)
    {
        auto& child = *m_children.emplace_back(std::make_unique<QProcess>());
        child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        // Warnings still show; the broker's start and stop lines of every run do not.
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        if (!environment.contains(QStringLiteral("QT_LOGGING_RULES"))) {
            environment.insert(QStringLiteral("QT_LOGGING_RULES"),
                               QStringLiteral("switchboard.*.info=false"));
        }
        child.setProcessEnvironment(environment);
        child.start(program, arguments);
        if (!child.waitForStarted(5000)) {
            fail(c, mode, QStringLiteral("cannot start %1: %2").arg(program, child.errorString()));
        }
        return child;
    }

private:
    std::vector<std::unique_ptr<QProcess>> m_children;
};

// The next line the child prints, without its newline; fails the run when none comes in time.
QString readLine(QProcess& child, std::chrono::milliseconds timeout, const BenchCase& c,
                 BenchMode mode, const char* waitingFor)
{
    const auto deadline = Clock::now() + timeout;
    while (!child.canReadLine()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || child.state() != QProcess::Running) {
            if (child.canReadLine()) {
                break;
            }
            fail(c, mode,
                 QStringLiteral("no %1 from %2").arg(QLatin1String(waitingFor), child.program()));
        }
        child.waitForReadyRead(static_cast<int>(left.count()));
    }
    return QString::fromUtf8(child.readLine()).trimmed();
}

// "frontend EP" and "backend EP", in any order among other lines, as both routers print them.
std::pair<QString, QString> readEndpoints(QProcess& router, const ProcessRun& run,
                                          const BenchCase& c, BenchMode mode)
{
    QString frontend;
    QString backend;
    while (frontend.isEmpty() || backend.isEmpty()) {
        const QString line = readLine(router, run.timeout, c, mode, "endpoints");
        if (line.startsWith(QLatin1String("frontend "))) {
            frontend = line.mid(9);
        } else if (line.startsWith(QLatin1String("backend "))) {
            backend = line.mid(8);
        }
    }
    return {frontend, backend};
}

QString modeName(BenchMode mode)
{
    return QString::fromLatin1(toString(mode).data());
}

} // namespace

RunStats measureInProcesses(const BenchCase& benchCase, BenchMode mode, std::size_t requests,
                            const ProcessRun& run)
{
    Children children;
    const QString self = QString::fromStdString(run.selfExecutable);
    QProcess* router = nullptr;
    const bool scraping = mode == BenchMode::Broker && run.scrapeInterval.count() > 0;
    if (mode == BenchMode::Broker) {
        // As an operator starts it; heartbeats slow enough that a busy machine never purges a
        // worker mid-run (the workers answer only requests).
        QStringList arguments{
            QStringLiteral("--no-gui"),          QStringLiteral("--frontend"),
            QStringLiteral("tcp://127.0.0.1:*"), QStringLiteral("--backend"),
            QStringLiteral("tcp://127.0.0.1:*"), QStringLiteral("--no-admin"),
            QStringLiteral("--heartbeat-ms"),    QString::number(kBrokerHeartbeat.count())};
        if (scraping) {
            arguments << QStringLiteral("--metrics") << QStringLiteral("127.0.0.1:0");
        }
        router = &children.start(QString::fromStdString(run.switchboardExecutable), arguments,
                                 benchCase, mode);
    } else {
        router =
            &children.start(self,
                            {QStringLiteral("--role"), QStringLiteral("proxy"),
                             QStringLiteral("--workers"), QString::number(benchCase.workers),
                             QStringLiteral("--timeout-ms"), QString::number(run.timeout.count())},
                            benchCase, mode);
    }
    const auto [frontend, backend] = readEndpoints(*router, run, benchCase, mode);
    std::unique_ptr<MetricsScraper> scraper;
    if (scraping) {
        // The broker prints it after the backend.
        const QString prefix = QStringLiteral("metrics http://");
        QString line;
        while (!(line = readLine(*router, run.timeout, benchCase, mode, "metrics address"))
                    .startsWith(prefix)) {
        }
        const QString address = line.mid(prefix.size()).section(QLatin1Char('/'), 0, 0);
        scraper = std::make_unique<MetricsScraper>(address.toStdString(), run.scrapeInterval);
    }

    QStringList workerArguments{QStringLiteral("--role"),
                                QStringLiteral("worker"),
                                QStringLiteral("--mode"),
                                modeName(mode),
                                QStringLiteral("--endpoint"),
                                backend,
                                QStringLiteral("--worker-mdp"),
                                run.workerVersion == mdp::Version::V01 ? QStringLiteral("1")
                                                                       : QStringLiteral("2")};
    if (mode == BenchMode::Broker) {
        workerArguments << QStringLiteral("--worker-credit") << QString::number(run.workerCredit);
        if (run.libraryWorkers) {
            workerArguments << QStringLiteral("--library-workers");
        }
    }
    for (int i = 0; i < benchCase.workers; ++i) {
        children.start(self, workerArguments, benchCase, mode);
    }
    if (mode == BenchMode::Proxy) {
        // zmq_proxy's DEALER hands requests only to workers already connected.
        while (readLine(*router, run.timeout, benchCase, mode, "ready") != QLatin1String("ready")) {
        }
    }
    // With the broker, requests of the warm-up wait in its queue until the workers said READY.

    QProcess& client = children.start(
        self,
        {QStringLiteral("--role"), QStringLiteral("client"), QStringLiteral("--mode"),
         modeName(mode), QStringLiteral("--endpoint"), frontend, QStringLiteral("--case"),
         QString::fromStdString(benchCase.name), QStringLiteral("--requests"),
         QString::number(requests), QStringLiteral("--warmup"), QString::number(run.warmupRequests),
         QStringLiteral("--timeout-ms"), QString::number(run.timeout.count())},
        benchCase, mode);
    const auto patience = run.timeout * 10;
    while (readLine(client, patience, benchCase, mode, "start") != QLatin1String("measuring")) {
    }
    const auto cpuFrom = processCpuTime(router->processId());
    if (scraper) {
        scraper->start();
    }
    QString result;
    do {
        result = readLine(client, patience, benchCase, mode, "result");
    } while (!result.startsWith(QLatin1String("result ")));
    const auto cpuUsed = processCpuTime(router->processId()) - cpuFrom;
    if (scraper) {
        scraper->stop();
        if (scraper->failures() != 0) {
            fail(benchCase, mode,
                 QStringLiteral("%1 of %2 scrapes of /metrics failed, the first: %3")
                     .arg(scraper->failures())
                     .arg(scraper->scrapes())
                     .arg(QString::fromStdString(scraper->firstFailure())));
        }
        if (run.verbose) {
            std::fprintf(stderr, "# case=%s scrapes=%llu\n", benchCase.name.c_str(),
                         static_cast<unsigned long long>(scraper->scrapes()));
        }
    }

    const QStringList fields = result.split(QLatin1Char(' '));
    if (fields.size() != 5) {
        fail(benchCase, mode, QStringLiteral("client said '%1'").arg(result));
    }
    const double measured = fields[1].toDouble();
    RunStats stats;
    stats.requestsPerSecond = fields[2].toDouble();
    stats.p50Us = fields[3].toDouble();
    stats.p99Us = fields[4].toDouble();
    stats.cpuUsPerRequest =
        measured > 0 ? std::chrono::duration<double, std::micro>(cpuUsed).count() / measured : 0;
    client.waitForFinished(static_cast<int>(run.timeout.count()));
    return stats;
}

int runProxyRole(int workers, std::chrono::milliseconds timeout)
{
    zmq::context_t context(1);
    ReferenceProxy proxy(context);
    proxy.start();
    std::printf("frontend %s\nbackend %s\n", proxy.frontendEndpoint().c_str(),
                proxy.backendEndpoint().c_str());
    std::fflush(stdout);
    if (!proxy.waitForWorkers(workers, timeout)) {
        std::fprintf(stderr, "bench_broker proxy: workers did not connect\n");
        return EXIT_FAILURE;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    for (;;) {
        pause(); // until the run is over and the parent kills this process
    }
}

int runWorkerRole(const std::string& endpoint, BenchMode mode, mdp::Version version, int credit,
                  bool library)
{
    zmq::context_t context(1);
    if (library) {
        WorkerOptions options;
        options.protocol = version;
        options.maxInFlight = std::max(credit, 1);
        options.heartbeatInterval = kBrokerHeartbeat; // the broker's, as a deployment sets it
        Worker worker(context, endpoint, "echo", options);
        // The client sends [blob] and checks that its own bytes come back: answer [blob].
        worker.handle(
            "echo", [](const msgpack::object& blob) { return std::vector<msgpack::object>{blob}; });
        worker.run(); // until killed by the parent
        return EXIT_SUCCESS;
    }
    EchoWorker worker(context, endpoint, mode, version, credit);
    worker.start();
    worker.join(); // DISCONNECT, or killed by the parent
    if (!worker.error().empty()) {
        std::fprintf(stderr, "bench_broker worker: %s\n", worker.error().c_str());
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

int runClientRole(const std::string& endpoint, BenchMode mode, mdp::Version version,
                  const BenchCase& benchCase, std::size_t requests, std::size_t warmupRequests,
                  std::chrono::milliseconds timeout, const std::string& args)
{
    zmq::context_t context(1);
    StartLine startLine(benchCase.clients, StartSignal{[] {
                            std::printf("measuring\n");
                            std::fflush(stdout);
                        }});
    LoadClient::Load load;
    load.mode = mode;
    load.clientVersion = version;
    load.inflight = benchCase.inflight;
    load.measuredRequests = requests / static_cast<std::size_t>(benchCase.clients);
    load.warmupRequests = std::max(warmupRequests / static_cast<std::size_t>(benchCase.clients),
                                   static_cast<std::size_t>(benchCase.inflight));
    load.replyTimeout = timeout;
    std::vector<std::unique_ptr<LoadClient>> clients;
    for (int i = 0; i < benchCase.clients; ++i) {
        clients.push_back(std::make_unique<LoadClient>(context, endpoint, load, args, startLine));
    }
    for (auto& client : clients) {
        client->start();
    }
    for (auto& client : clients) {
        client->join();
    }
    ClientMeasurements measured = ClientMeasurements::gather(clients);
    if (!measured.error.empty()) {
        std::fprintf(stderr, "bench_broker client: %s\n", measured.error.c_str());
        return EXIT_FAILURE;
    }
    const std::size_t requestsMeasured = measured.latenciesNs.size();
    const RunStats stats = measured.stats();
    std::printf("result %zu %.1f %.1f %.1f\n", requestsMeasured, stats.requestsPerSecond,
                stats.p50Us, stats.p99Us);
    std::fflush(stdout);
    return EXIT_SUCCESS;
}

} // namespace switchboard::bench
