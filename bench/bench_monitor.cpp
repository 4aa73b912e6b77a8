// bench_monitor: what statistics and a watching monitor cost the broker. The same echo load as
// bench_broker runs, in one run and in rotating order, through three brokers:
//   bare       statistics off, no admin endpoint, nobody taking snapshots
//   stats      statistics on (the default), nobody watching
//   monitored  statistics on, a snapshot every --snapshot-ms delivered to an in-process
//              consumer (as the monitor window gets them) and an AdminClient asking for one
//              over the admin endpoint every --poll-ms (as `switchboard monitor` does)
// Besides throughput and latency it reads the broker thread's CPU time, which says what the
// broker itself spends per request far more steadily than wall-clock rates on a shared VM.

#include "benchcase.h"
#include "benchoptions.h"
#include "echoworker.h"
#include "loadclient.h"
#include "runstats.h"

#include <switchboard/broker/broker.h>
#include <switchboard/broker/brokerthread.h>
#include <switchboard/monitoring/adminclient.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QLoggingCategory>
#include <QThread>

#include <msgpack.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

using namespace switchboard;
using namespace switchboard::bench;
using namespace std::chrono_literals;

namespace {

enum class Variant { Bare, Stats, Monitored };
constexpr Variant kVariants[] = {Variant::Bare, Variant::Stats, Variant::Monitored};

const char* toString(Variant variant)
{
    switch (variant) {
    case Variant::Bare:
        return "bare";
    case Variant::Stats:
        return "stats";
    case Variant::Monitored:
        return "monitored";
    }
    return "?";
}

struct Settings {
    int reps = 7;
    std::size_t requests = 0; // 0: each case's default
    std::chrono::milliseconds snapshotInterval{500};
    std::chrono::milliseconds pollInterval{100};
    bool verbose = false;
};

struct VariantRun {
    RunStats load;
    double brokerCpuNsPerRequest = 0;
    std::uint64_t snapshotsSeen = 0;
};

[[noreturn]] void fail(const std::string& benchCase, Variant variant, const std::string& why)
{
    std::fflush(stdout);
    std::fprintf(stderr, "bench_monitor: case=%s variant=%s FAILED: %s\n", benchCase.c_str(),
                 toString(variant), why.c_str());
    std::_Exit(EXIT_FAILURE);
}

std::string encodeArgs(std::size_t bytes)
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_array(1);
    packer.pack_bin(static_cast<std::uint32_t>(bytes));
    packer.pack_bin_body(std::string(bytes, 'x').data(), static_cast<std::uint32_t>(bytes));
    return std::string(buffer.data(), buffer.size());
}

// CPU time the broker's thread has used so far, read on that thread.
std::int64_t brokerCpuNs(BrokerThread& broker)
{
    std::int64_t ns = 0;
    QMetaObject::invokeMethod(
        broker.broker(),
        [] {
            timespec now{};
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
            return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
        },
        Qt::BlockingQueuedConnection, &ns);
    return ns;
}

// The watching side of the monitored variant, on a thread with its own event loop as the
// window's would be: counts what arrives, so the run can prove the monitor was refreshing.
class Watcher {
public:
    Watcher(BrokerThread& broker, zmq::context_t& context, const Settings& settings)
    {
        m_thread.start();
        m_receiver.moveToThread(&m_thread);
        QObject::connect(broker.broker(), &Broker::snapshotReady, &m_receiver,
                         [this](const BrokerSnapshot&) { ++m_local; });
        AdminClient::Options options;
        options.pollInterval = settings.pollInterval;
        const QString endpoint = broker.adminEndpoints().value(0);
        QMetaObject::invokeMethod(
            &m_receiver,
            [this, endpoint, &context, options] {
                m_admin = std::make_unique<AdminClient>(endpoint, context, options);
                QObject::connect(m_admin.get(), &AdminClient::snapshotReceived, &m_receiver,
                                 [this](const BrokerSnapshot&) { ++m_remote; });
                m_admin->start();
            },
            Qt::BlockingQueuedConnection);
    }

    ~Watcher()
    {
        QMetaObject::invokeMethod(
            &m_receiver, [this] { m_admin.reset(); }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }

    std::uint64_t local() const { return m_local; }
    std::uint64_t remote() const { return m_remote; }

private:
    QThread m_thread;
    QObject m_receiver;
    std::unique_ptr<AdminClient> m_admin;
    std::atomic<std::uint64_t> m_local{0};
    std::atomic<std::uint64_t> m_remote{0};
};

VariantRun measure(const BenchCase& benchCase, Variant variant, std::size_t requests,
                   const Settings& settings, const std::string& args)
{
    zmq::context_t context(1);
    BrokerConfig config;
    config.frontendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.backendEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    config.adminEndpoints.clear();
    if (variant == Variant::Monitored) {
        config.adminEndpoints = {QStringLiteral("tcp://127.0.0.1:*")};
    }
    config.heartbeatInterval = 10s; // never purge a worker of a busy benchmark
    config.statistics = variant != Variant::Bare;
    config.snapshotInterval = settings.snapshotInterval;

    auto broker = std::make_unique<BrokerThread>(config, context);
    broker->start();
    std::unique_ptr<Watcher> watcher;
    if (variant == Variant::Monitored) {
        watcher = std::make_unique<Watcher>(*broker, context, settings);
    }
    std::vector<std::unique_ptr<EchoWorker>> workers;
    for (int i = 0; i < benchCase.workers; ++i) {
        workers.push_back(std::make_unique<EchoWorker>(
            context, broker->backendEndpoints().value(0).toStdString(), BenchMode::Broker));
        workers.back()->start();
    }
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (broker->counters().workers != static_cast<std::size_t>(benchCase.workers)) {
        if (std::chrono::steady_clock::now() > deadline) {
            fail(benchCase.name, variant, "workers did not register");
        }
    }

    LoadClient::Load load;
    load.inflight = benchCase.inflight;
    load.measuredRequests = requests / static_cast<std::size_t>(benchCase.clients);
    load.warmupRequests = std::max<std::size_t>(500 / static_cast<std::size_t>(benchCase.clients),
                                                static_cast<std::size_t>(benchCase.inflight));
    StartLine startLine(benchCase.clients);
    std::vector<std::unique_ptr<LoadClient>> clients;
    for (int i = 0; i < benchCase.clients; ++i) {
        clients.push_back(std::make_unique<LoadClient>(
            context, broker->frontendEndpoints().value(0).toStdString(), load, args, startLine));
    }
    const std::int64_t cpuBefore = brokerCpuNs(*broker);
    for (auto& client : clients) {
        client->start();
    }
    for (auto& client : clients) {
        client->join();
    }
    ClientMeasurements measured = ClientMeasurements::gather(clients);
    if (!measured.error.empty()) {
        fail(benchCase.name, variant, "client: " + measured.error);
    }
    const std::int64_t cpuAfter = brokerCpuNs(*broker);
    const auto handled = (load.warmupRequests + load.measuredRequests) * clients.size();

    VariantRun run;
    run.load = measured.stats();
    run.brokerCpuNsPerRequest =
        static_cast<double>(cpuAfter - cpuBefore) / static_cast<double>(handled);
    if (watcher) {
        run.snapshotsSeen = watcher->local() + watcher->remote();
        if (watcher->local() == 0 || watcher->remote() == 0) {
            fail(benchCase.name, variant,
                 "the monitor saw no snapshot (local " + std::to_string(watcher->local()) +
                     ", remote " + std::to_string(watcher->remote()) +
                     "): the run is too short for --snapshot-ms/--poll-ms");
        }
    }
    watcher.reset();
    broker->stop();
    context.shutdown();
    for (auto& worker : workers) {
        worker->join();
    }
    return run;
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n == 0 ? 0 : n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("bench_monitor"));
    QLoggingCategory::setFilterRules(
        QStringLiteral("switchboard.*.debug=false\nswitchboard.*.info=false"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Echo load through a broker without statistics (bare), with statistics (stats), and "
        "with statistics and a refreshing monitor (monitored), in one run and rotating order; "
        "prints one line per case with medians, the ratios stats/bare and monitored/bare of "
        "requests/s (medians of the ratios within each repetition), and the broker thread's CPU "
        "time per request.\nCases: lat_1x1, "
        "thr_4x32_w2, thr_4x32_w8 (as in bench_broker)."));
    parser.addHelpOption();
    const QCommandLineOption repsOption(QStringLiteral("reps"),
                                        QStringLiteral("Repetitions per variant (default 7)."),
                                        QStringLiteral("R"));
    const QCommandLineOption requestsOption(
        QStringLiteral("requests"),
        QStringLiteral("Requests measured per repetition (default: per case)."),
        QStringLiteral("N"));
    const QCommandLineOption caseOption(QStringLiteral("case"),
                                        QStringLiteral("Run only this case (repeatable)."),
                                        QStringLiteral("NAME"));
    const QCommandLineOption snapshotOption(
        QStringLiteral("snapshot-ms"),
        QStringLiteral("The broker's snapshot interval in the monitored variant (default 500)."),
        QStringLiteral("MS"));
    const QCommandLineOption pollOption(
        QStringLiteral("poll-ms"),
        QStringLiteral("How often the remote monitor asks for a snapshot (default 100)."),
        QStringLiteral("MS"));
    const QCommandLineOption verboseOption(QStringLiteral("verbose"),
                                           QStringLiteral("Every run's numbers on stderr too."));
    parser.addOptions(
        {repsOption, requestsOption, caseOption, snapshotOption, pollOption, verboseOption});
    parser.process(app);

    Settings settings;
    settings.reps = static_cast<int>(positiveOption(parser, repsOption, 7));
    settings.requests = positiveOption(parser, requestsOption, 0);
    settings.snapshotInterval =
        std::chrono::milliseconds(positiveOption(parser, snapshotOption, 500));
    settings.pollInterval = std::chrono::milliseconds(positiveOption(parser, pollOption, 100));
    settings.verbose = parser.isSet(verboseOption);

    std::vector<BenchCase> cases;
    for (const BenchCase& benchCase : standardCases()) {
        const QString name = QString::fromStdString(benchCase.name);
        const QStringList wanted = parser.values(caseOption);
        if (benchCase.payloadBytes <= 16 && (wanted.isEmpty() || wanted.contains(name))) {
            cases.push_back(benchCase);
        }
    }
    if (cases.empty()) {
        usageError(QStringLiteral("no such case"));
    }

    for (const BenchCase& benchCase : cases) {
        const auto clients = static_cast<std::size_t>(benchCase.clients);
        const std::size_t asked =
            settings.requests != 0 ? settings.requests : benchCase.defaultRequests;
        const std::size_t requests = std::max<std::size_t>(1, asked / clients) * clients;
        const std::string args = encodeArgs(benchCase.payloadBytes);
        std::vector<double> rps[3];
        std::vector<double> p50[3];
        std::vector<double> cpu[3];
        for (int rep = 0; rep < settings.reps; ++rep) {
            // Rotate the order, so that no variant always runs first on a cold machine.
            for (int k = 0; k < 3; ++k) {
                const int v = (rep + k) % 3;
                const VariantRun run = measure(benchCase, kVariants[v], requests, settings, args);
                rps[v].push_back(run.load.requestsPerSecond);
                p50[v].push_back(run.load.p50Us);
                cpu[v].push_back(run.brokerCpuNsPerRequest / 1000.0);
                if (settings.verbose) {
                    std::fprintf(stderr,
                                 "# case=%s rep=%d variant=%s rps=%.0f p50_us=%.0f "
                                 "broker_cpu_us_per_req=%.2f snapshots=%llu\n",
                                 benchCase.name.c_str(), rep + 1, toString(kVariants[v]),
                                 run.load.requestsPerSecond, run.load.p50Us,
                                 run.brokerCpuNsPerRequest / 1000.0,
                                 static_cast<unsigned long long>(run.snapshotsSeen));
                }
            }
        }
        // Each repetition runs all three back to back: the median of their ratios cancels the
        // machine's drift better than the ratio of medians.
        std::vector<double> statsRatio;
        std::vector<double> monitoredRatio;
        for (int rep = 0; rep < settings.reps; ++rep) {
            statsRatio.push_back(rps[1][rep] / rps[0][rep]);
            monitoredRatio.push_back(rps[2][rep] / rps[0][rep]);
        }
        const double bare = median(rps[0]);
        std::printf("case=%s requests=%zu reps=%d bare_rps=%.0f stats_rps=%.0f monitored_rps=%.0f "
                    "stats_ratio=%.3f monitored_ratio=%.3f bare_p50_us=%.0f stats_p50_us=%.0f "
                    "monitored_p50_us=%.0f bare_cpu_us=%.2f stats_cpu_us=%.2f "
                    "monitored_cpu_us=%.2f\n",
                    benchCase.name.c_str(), requests, settings.reps, bare, median(rps[1]),
                    median(rps[2]), median(statsRatio), median(monitoredRatio), median(p50[0]),
                    median(p50[1]), median(p50[2]), median(cpu[0]), median(cpu[1]), median(cpu[2]));
        std::fflush(stdout);
    }
    return EXIT_SUCCESS;
}
