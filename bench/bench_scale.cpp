// bench_scale: the broker with many workers and a long queue, measured as an outside user
// measures it. It starts the `switchboard` executable, registers W plain 7/MDP workers (DEALER
// sockets of this process), and has a raw 7/MDP client send W + Q requests of a 64-byte body:
// each worker then holds one and Q wait in the broker's queue. It reads the broker's RSS before
// and after (bytes per queued request), times an admin snapshot of that broker, then lets the
// workers answer as fast as they can and reads the broker's CPU time over the drain (CPU per
// dispatch). One result line per case (W x Q), medians over --repeat runs; with --baseline, the
// same runs against another switchboard executable, alternated, and the ratios.

#include "benchoptions.h"
#include "processusage.h"
#include "rawworkerpool.h"

#include <switchboard/monitoring/snapshotcodec.h>
#include <switchboard/protocol/mdp.h>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStringList>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard;
using namespace switchboard::bench;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kService = "echo";
// The broker's default snapshot period (BrokerConfig::snapshotInterval), which the time to
// build and encode one is compared with.
constexpr std::chrono::milliseconds kDefaultSnapshotPeriod{500};

struct Settings {
    std::vector<std::size_t> workers{10, 100, 1000};
    std::vector<std::size_t> queued{1000, 10000, 100000};
    int repeat = 3;
    std::size_t bodyBytes = 64;
    // Requests the client sends before it waits for the broker to have read them (0: all at
    // once). What the broker's receive buffers hold, and so what a queued request keeps
    // allocated, depends on how many requests each read brings.
    std::size_t batch = 8;
    // Answers the workers may be ahead of the client's reading during the drain.
    std::size_t window = 1000;
    std::chrono::milliseconds timeout{60000}; // for each step of a run
    QString broker = QStringLiteral(SWITCHBOARD_EXECUTABLE);
    QString baseline; // another switchboard executable to compare with, alternated
    bool verbose = false;
};

// What one run measured.
struct Measurement {
    double rssIdleMiB = 0;       // W workers registered, nothing sent yet
    double rssQueuedMiB = 0;     // W held by the workers and Q queued
    double bytesPerQueued = 0;   // RSS growth from "W held" to "Q queued" / Q
    double snapshotMs = 0;       // admin snapshot round trip, built and encoded for this ask
    double snapshotCachedMs = 0; // the same bytes asked again at once: the round trip alone
    double snapshotKiB = 0;
    double cpuUsPerDispatch = 0;  // broker CPU (all threads) over the drain / Q
    double cpuUsPerRequest = 0;   // the same / (W + Q): every request answered during the drain
    double wallUsPerDispatch = 0; // drain wall time / Q
    // Minor page faults of the broker over the drain / Q: memory it had not touched before (the
    // receive buffers of answers waiting for the client), paid in kernel time.
    double faultsPerDispatch = 0;
    double rssDrainedMiB = 0; // once all were answered
};

double mib(std::size_t bytes)
{
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

double ms(Clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

// The broker executable, started as an operator starts it, on ephemeral loopback ports. Its
// stdout gives the endpoints; it is killed when this object goes, and by the kernel when this
// program dies first (PR_SET_PDEATHSIG), so no run leaves a broker behind.
class BrokerProcess {
public:
    BrokerProcess(const QString& program, std::size_t maxQueue, std::chrono::milliseconds timeout)
    {
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        if (!environment.contains(QStringLiteral("QT_LOGGING_RULES"))) {
            environment.insert(QStringLiteral("QT_LOGGING_RULES"),
                               QStringLiteral("switchboard.*.info=false"));
        }
        m_process.setProcessEnvironment(environment);
        m_process.setChildProcessModifier([] { prctl(PR_SET_PDEATHSIG, SIGKILL); });
        // Heartbeats and request timeouts far beyond a run: no worker is purged and no request
        // expires while this process is busy. The snapshot timer is slowed down too, so that
        // the drain measures dispatches only; the one snapshot measured is asked for. A high
        // socket HWM lets the broker pass answers on while this process, on the same cores, is
        // slow to read them: the drain measures dispatch, not holding answers for a slow client.
        m_process.start(program, {QStringLiteral("--no-gui"), QStringLiteral("--frontend"),
                                  QStringLiteral("tcp://127.0.0.1:*"), QStringLiteral("--backend"),
                                  QStringLiteral("tcp://127.0.0.1:*"), QStringLiteral("--admin"),
                                  QStringLiteral("tcp://127.0.0.1:*"),
                                  QStringLiteral("--heartbeat-ms"), QStringLiteral("100000"),
                                  QStringLiteral("--request-timeout-ms"), QStringLiteral("600000"),
                                  QStringLiteral("--snapshot-ms"), QStringLiteral("60000"),
                                  QStringLiteral("--max-queue"), QString::number(maxQueue),
                                  QStringLiteral("--socket-hwm"), QStringLiteral("1M"),
                                  QStringLiteral("--max-queued-bytes"), QStringLiteral("4G")});
        if (!m_process.waitForStarted(5000)) {
            throw std::runtime_error("cannot start " + program.toStdString() + ": " +
                                     m_process.errorString().toStdString());
        }
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            const QString line = readLine(deadline);
            if (line.startsWith(QLatin1String("frontend "))) {
                frontend = line.mid(9).toStdString();
            } else if (line.startsWith(QLatin1String("backend "))) {
                backend = line.mid(8).toStdString();
            } else if (line.startsWith(QLatin1String("admin "))) {
                admin = line.mid(6).toStdString();
            } else if (line.startsWith(QLatin1String("switchboard ready"))) {
                break;
            }
        }
        if (frontend.empty() || backend.empty() || admin.empty()) {
            throw std::runtime_error("the broker did not print its three endpoints");
        }
    }
    ~BrokerProcess()
    {
        m_process.kill();
        m_process.waitForFinished(5000);
    }
    BrokerProcess(const BrokerProcess&) = delete;
    BrokerProcess& operator=(const BrokerProcess&) = delete;

    qint64 pid() const { return m_process.processId(); }
    bool running() const { return m_process.state() == QProcess::Running; }

    std::string frontend;
    std::string backend;
    std::string admin;

private:
    QString readLine(Clock::time_point deadline)
    {
        while (!m_process.canReadLine()) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0 || m_process.state() != QProcess::Running) {
                throw std::runtime_error("the broker printed no 'switchboard ready'");
            }
            m_process.waitForReadyRead(static_cast<int>(left.count()));
        }
        return QString::fromUtf8(m_process.readLine()).trimmed();
    }

    QProcess m_process;
};

// What mmi.capacity says of the service (docs/PROTOCOL.md §10, raw RFC 8 form).
struct Capacity {
    std::size_t workers = 0;
    std::size_t inFlight = 0;
    std::size_t queued = 0;
};

// A plain 7/MDP client on a DEALER: ["", "MDPC01", service, body...] out and back.
class RawClient {
public:
    RawClient(zmq::context_t& context, const std::string& endpoint)
        : m_socket(context, zmq::socket_type::dealer)
    {
        m_socket.set(zmq::sockopt::linger, 0);
        m_socket.set(zmq::sockopt::sndhwm, 0); // every request is sent, however many
        m_socket.set(zmq::sockopt::rcvhwm, 0);
        m_socket.connect(endpoint);
    }

    void send(std::string_view service, std::string_view body)
    {
        m_socket.send(zmq::message_t(), zmq::send_flags::sndmore);
        m_socket.send(zmq::buffer(mdp::kClientHeaderV01), zmq::send_flags::sndmore);
        m_socket.send(zmq::buffer(service), zmq::send_flags::sndmore);
        m_socket.send(zmq::buffer(body), zmq::send_flags::none);
    }

    // The next message, [service, body...] without the header; nullopt after `timeout`.
    std::optional<std::vector<zmq::message_t>> receive(std::chrono::milliseconds timeout)
    {
        std::vector<zmq::message_t> frames;
        if (!zmq::recv_multipart(m_socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
            zmq::pollitem_t item{m_socket.handle(), 0, ZMQ_POLLIN, 0};
            if (zmq::poll(&item, 1, timeout) == 0) {
                return std::nullopt;
            }
            if (!zmq::recv_multipart(m_socket, std::back_inserter(frames))) {
                return std::nullopt;
            }
        }
        if (frames.size() < 3 || frames[0].size() != 0 ||
            frames[1].to_string_view() != mdp::kClientHeaderV01) {
            throw std::runtime_error("the client got something that is not a 7/MDP reply");
        }
        frames.erase(frames.begin(), frames.begin() + 2);
        return frames;
    }

    Capacity askCapacity(std::chrono::milliseconds timeout)
    {
        send("mmi.capacity", "?");
        const auto reply = receive(timeout);
        if (!reply) {
            throw std::runtime_error("no answer to mmi.capacity");
        }
        // [service, "200", then per service: name, workers, capacity, in flight, queued]
        const auto& frames = *reply;
        if (frames.size() < 2 || frames[0].to_string_view() != "mmi.capacity" ||
            frames[1].to_string_view() != "200") {
            throw std::runtime_error("mmi.capacity: unexpected answer (not a reply to it, or not "
                                     "200; is the broker older than mmi.capacity?)");
        }
        Capacity capacity;
        for (std::size_t i = 2; i + 4 < frames.size(); i += 5) {
            if (frames[i].to_string_view() == kService) {
                capacity.workers = std::stoul(frames[i + 1].to_string());
                capacity.inFlight = std::stoul(frames[i + 3].to_string());
                capacity.queued = std::stoul(frames[i + 4].to_string());
            }
        }
        return capacity;
    }

    // Asks mmi.capacity until `done` holds; throws after `timeout`.
    template <typename Done>
    Capacity waitFor(Done&& done, std::chrono::milliseconds timeout, const char* what)
    {
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            const Capacity capacity = askCapacity(timeout);
            if (done(capacity)) {
                return capacity;
            }
            if (Clock::now() > deadline) {
                throw std::runtime_error(std::string("timed out waiting for ") + what +
                                         " (workers " + std::to_string(capacity.workers) +
                                         ", in flight " + std::to_string(capacity.inFlight) +
                                         ", queued " + std::to_string(capacity.queued) + ")");
            }
            std::this_thread::sleep_for(10ms); // polling an outside process: nothing to wait on
        }
    }

private:
    zmq::socket_t m_socket;
};

// One admin "snapshot" round trip (docs/PROTOCOL.md §14) on a DEALER.
struct SnapshotAnswer {
    Clock::duration roundTrip{};
    zmq::message_t payload;
};

SnapshotAnswer askSnapshot(zmq::socket_t& admin, std::string_view id,
                           std::chrono::milliseconds timeout)
{
    const auto from = Clock::now();
    admin.send(zmq::buffer(std::string_view("SBADM1")), zmq::send_flags::sndmore);
    admin.send(zmq::buffer(id), zmq::send_flags::sndmore);
    admin.send(zmq::buffer(std::string_view("snapshot")), zmq::send_flags::sndmore);
    admin.send(snapshotcodec::encodeRequest(), zmq::send_flags::none);
    zmq::pollitem_t item{admin.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) {
        throw std::runtime_error("no answer to the admin snapshot");
    }
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(admin, std::back_inserter(frames))) {
        throw std::runtime_error("no answer to the admin snapshot");
    }
    SnapshotAnswer answer;
    answer.roundTrip = Clock::now() - from;
    if (frames.size() != 4 || frames[1].to_string_view() != id ||
        frames[2].to_string_view() != std::string_view("\x00", 1)) {
        throw std::runtime_error("the admin snapshot was refused");
    }
    answer.payload = std::move(frames[3]);
    return answer;
}

// A body of `bytes` bytes that is not all one value, so that a mangled copy shows.
std::string makeBody(std::size_t bytes)
{
    std::string body(bytes, '\0');
    for (std::size_t i = 0; i < bytes; ++i) {
        body[i] = static_cast<char>('a' + (i * 7) % 26);
    }
    return body;
}

// One run: a fresh broker, W workers, W + Q requests, a snapshot, the drain.
Measurement measure(const QString& program, std::size_t workers, std::size_t queued,
                    const Settings& settings)
{
    const auto timeout = settings.timeout;
    const std::string body = makeBody(settings.bodyBytes);
    BrokerProcess broker(program, 2 * (workers + queued), timeout);
    zmq::context_t context(1);
    context.set(zmq::ctxopt::max_sockets, static_cast<int>(workers + 16));
    RawWorkerPool pool(context, broker.backend, std::string(kService), workers);
    RawClient client(context, broker.frontend);
    zmq::socket_t admin(context, zmq::socket_type::dealer);
    admin.set(zmq::sockopt::linger, 0);
    admin.connect(broker.admin);
    Measurement m;

    pool.sendReady();
    client.waitFor([&](const Capacity& c) { return c.workers == workers; }, timeout,
                   "the workers' READY");
    m.rssIdleMiB = mib(processRssBytes(broker.pid()));

    // After each batch an mmi.capacity round trip: the broker has read the batch before the next
    // one leaves, so each arrives in about one read, as if that many clients had sent at once.
    const auto sendInBatches = [&](std::size_t count) {
        for (std::size_t sent = 0; sent < count;) {
            const std::size_t n =
                settings.batch == 0 ? count - sent : std::min(settings.batch, count - sent);
            for (std::size_t i = 0; i < n; ++i) {
                client.send(kService, body);
            }
            sent += n;
            if (settings.batch != 0) {
                (void)client.askCapacity(timeout);
            }
        }
    };
    sendInBatches(workers);
    client.waitFor([&](const Capacity& c) { return c.inFlight == workers && c.queued == 0; },
                   timeout, "one request held by each worker");
    const std::size_t rssHeld = processRssBytes(broker.pid());
    sendInBatches(queued);
    client.waitFor([&](const Capacity& c) { return c.inFlight == workers && c.queued == queued; },
                   timeout, "the queue");
    const std::size_t rssQueued = processRssBytes(broker.pid());
    m.rssQueuedMiB = mib(rssQueued);
    m.bytesPerQueued = (static_cast<double>(rssQueued) - static_cast<double>(rssHeld)) /
                       static_cast<double>(queued);

    // The first ask of a broker is built and encoded for it; the second, at once, gets the same
    // bytes (one encoding per snapshot period).
    SnapshotAnswer fresh = askSnapshot(admin, "1", timeout);
    SnapshotAnswer cached = askSnapshot(admin, "2", timeout);
    m.snapshotMs = ms(fresh.roundTrip);
    m.snapshotCachedMs = ms(cached.roundTrip);
    m.snapshotKiB = static_cast<double>(fresh.payload.size()) / 1024.0;
    const BrokerSnapshot snapshot = snapshotcodec::decode(fresh.payload);
    const auto service =
        std::find_if(snapshot.services.begin(), snapshot.services.end(),
                     [](const ServiceStats& s) { return s.name == QLatin1String("echo"); });
    if (service == snapshot.services.end() || service->queueDepth != queued ||
        static_cast<std::size_t>(snapshot.workers.size()) != workers) {
        throw std::runtime_error("the snapshot does not show the queue and the workers");
    }

    const auto faultsFrom = processMinorFaults(broker.pid());
    const auto cpuFrom = processCpuTime(broker.pid());
    const auto wallFrom = Clock::now();
    std::atomic<std::size_t> read{0};
    pool.answer(read, settings.window);
    const std::size_t expected = workers + queued;
    for (std::size_t received = 0; received < expected; read.store(++received)) {
        const auto reply = client.receive(timeout);
        if (!reply) {
            throw std::runtime_error("the drain stalled after " + std::to_string(received) +
                                     " answers of " + std::to_string(expected) +
                                     (pool.error().empty() ? "" : ": " + pool.error()));
        }
        if (reply->size() != 2 || (*reply)[0].to_string_view() != kService ||
            (*reply)[1].to_string_view() != body) {
            throw std::runtime_error("an answer did not carry the request's body");
        }
    }
    const auto wall = Clock::now() - wallFrom;
    const auto cpu = processCpuTime(broker.pid()) - cpuFrom;
    const auto faults = processMinorFaults(broker.pid()) - faultsFrom;
    pool.stop();
    if (!pool.error().empty()) {
        throw std::runtime_error(pool.error());
    }
    if (!broker.running()) {
        throw std::runtime_error("the broker ended during the run");
    }
    const double cpuUs = std::chrono::duration<double, std::micro>(cpu).count();
    m.cpuUsPerDispatch = cpuUs / static_cast<double>(queued);
    m.cpuUsPerRequest = cpuUs / static_cast<double>(expected);
    m.wallUsPerDispatch =
        std::chrono::duration<double, std::micro>(wall).count() / static_cast<double>(queued);
    m.faultsPerDispatch = static_cast<double>(faults) / static_cast<double>(queued);
    m.rssDrainedMiB = mib(processRssBytes(broker.pid()));
    return m;
}

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Measurement median(const std::vector<Measurement>& runs)
{
    Measurement result;
    for (double Measurement::*field :
         {&Measurement::rssIdleMiB, &Measurement::rssQueuedMiB, &Measurement::bytesPerQueued,
          &Measurement::snapshotMs, &Measurement::snapshotCachedMs, &Measurement::snapshotKiB,
          &Measurement::cpuUsPerDispatch, &Measurement::cpuUsPerRequest,
          &Measurement::wallUsPerDispatch, &Measurement::faultsPerDispatch,
          &Measurement::rssDrainedMiB}) {
        std::vector<double> values;
        for (const Measurement& run : runs) {
            values.push_back(run.*field);
        }
        result.*field = median(values);
    }
    return result;
}

void print(FILE* out, const char* prefix, const char* label, std::size_t workers,
           std::size_t queued, const Settings& settings, const Measurement& m)
{
    std::fprintf(out,
                 "%sbroker=%s workers=%zu queued=%zu body=%zu rss_idle_mib=%.1f "
                 "rss_queued_mib=%.1f bytes_per_queued=%.0f cpu_us_per_dispatch=%.2f "
                 "cpu_us_per_request=%.2f wall_us_per_dispatch=%.2f faults_per_dispatch=%.2f "
                 "snapshot_ms=%.2f "
                 "snapshot_cached_ms=%.2f snapshot_kib=%.0f snapshot_of_period=%.3f "
                 "rss_drained_mib=%.1f\n",
                 prefix, label, workers, queued, settings.bodyBytes, m.rssIdleMiB, m.rssQueuedMiB,
                 m.bytesPerQueued, m.cpuUsPerDispatch, m.cpuUsPerRequest, m.wallUsPerDispatch,
                 m.faultsPerDispatch, m.snapshotMs, m.snapshotCachedMs, m.snapshotKiB,
                 m.snapshotMs / static_cast<double>(kDefaultSnapshotPeriod.count()),
                 m.rssDrainedMiB);
    std::fflush(out);
}

std::vector<std::size_t> sizeList(const QCommandLineParser& parser,
                                  const QCommandLineOption& option,
                                  std::vector<std::size_t> fallback)
{
    if (!parser.isSet(option)) {
        return fallback;
    }
    std::vector<std::size_t> values;
    for (const QString& item : parser.value(option).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        QString text = item.trimmed().toLower();
        qulonglong factor = 1;
        if (text.endsWith(QLatin1Char('k'))) {
            factor = 1000;
            text.chop(1);
        }
        bool ok = false;
        const qulonglong value = text.toULongLong(&ok);
        if (!ok || value == 0) {
            usageError(QStringLiteral("--%1 takes positive numbers separated by commas (1k = "
                                      "1000), not %2")
                           .arg(option.names().constFirst(), item));
        }
        values.push_back(static_cast<std::size_t>(value * factor));
    }
    return values;
}

// The workers' sockets and the broker's connections to them: two descriptors per worker on
// each side, and the broker inherits this limit.
void raiseFileLimit(std::size_t workers)
{
    const rlim_t needed = static_cast<rlim_t>(2 * workers + 256);
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur >= needed) {
        return;
    }
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = std::min(limit.rlim_max, std::max(needed, static_cast<rlim_t>(4096)));
    if (limit.rlim_cur < needed || setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        std::fprintf(stderr,
                     "bench_scale: %zu workers need %llu file descriptors; RLIMIT_NOFILE allows "
                     "%llu (hard limit %llu)\n",
                     workers, static_cast<unsigned long long>(needed),
                     static_cast<unsigned long long>(before),
                     static_cast<unsigned long long>(limit.rlim_max));
        std::exit(EXIT_FAILURE);
    }
    std::fprintf(stderr, "bench_scale: raised RLIMIT_NOFILE from %llu to %llu for %zu workers\n",
                 static_cast<unsigned long long>(before),
                 static_cast<unsigned long long>(limit.rlim_cur), workers);
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("bench_scale"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "The switchboard executable with W plain 7/MDP workers, each holding one request, and Q "
        "requests queued: RSS per queued request, an admin snapshot's round trip, and the "
        "broker's CPU per dispatch while the workers drain the queue. One line per case, "
        "medians over --repeat runs."));
    parser.addHelpOption();
    const QCommandLineOption workersOption(
        QStringLiteral("workers"), QStringLiteral("Worker counts, comma-separated (10,100,1000)."),
        QStringLiteral("list"));
    const QCommandLineOption queuedOption(
        QStringLiteral("queued"),
        QStringLiteral("Queued requests, comma-separated, 1k = 1000 (1k,10k,100k)."),
        QStringLiteral("list"));
    const QCommandLineOption repeatOption(
        QStringLiteral("repeat"), QStringLiteral("Runs per case (3)."), QStringLiteral("n"));
    const QCommandLineOption quickOption(
        QStringLiteral("quick"),
        QStringLiteral("The corners only, once: workers 10,1000 x queued 1k,100k."));
    const QCommandLineOption bodyOption(QStringLiteral("body-bytes"),
                                        QStringLiteral("Request body size (64)."),
                                        QStringLiteral("bytes"));
    const QCommandLineOption batchOption(
        QStringLiteral("batch"),
        QStringLiteral("Requests sent together before the client waits for the broker to have "
                       "read them, with an mmi.capacity round trip; 0: all at once (8)."),
        QStringLiteral("n"));
    const QCommandLineOption windowOption(
        QStringLiteral("window"),
        QStringLiteral("During the drain, answers the workers may give ahead of the client's "
                       "reading (1000)."),
        QStringLiteral("n"));
    const QCommandLineOption timeoutOption(QStringLiteral("timeout-ms"),
                                           QStringLiteral("Limit of each step of a run (60000)."),
                                           QStringLiteral("ms"));
    const QCommandLineOption brokerOption(
        QStringLiteral("switchboard"),
        QStringLiteral("The switchboard executable to measure (the one built with this bench)."),
        QStringLiteral("path"));
    const QCommandLineOption baselineOption(
        QStringLiteral("baseline"),
        QStringLiteral("Another switchboard executable (e.g. of the commit before), run in "
                       "alternation with the same cases; adds a ratio line per case."),
        QStringLiteral("path"));
    const QCommandLineOption verboseOption(QStringLiteral("verbose"),
                                           QStringLiteral("Every run's numbers on stderr."));
    parser.addOptions({workersOption, queuedOption, repeatOption, quickOption, bodyOption,
                       batchOption, windowOption, timeoutOption, brokerOption, baselineOption,
                       verboseOption});
    parser.process(app);
    if (!parser.positionalArguments().isEmpty()) {
        usageError(QStringLiteral("unexpected argument %1").arg(parser.positionalArguments()[0]));
    }

    Settings settings;
    if (parser.isSet(quickOption)) {
        settings.workers = {10, 1000};
        settings.queued = {1000, 100000};
        settings.repeat = 1;
    }
    settings.workers = sizeList(parser, workersOption, settings.workers);
    settings.queued = sizeList(parser, queuedOption, settings.queued);
    settings.repeat = static_cast<int>(
        positiveOption(parser, repeatOption, static_cast<std::size_t>(settings.repeat)));
    settings.bodyBytes = positiveOption(parser, bodyOption, settings.bodyBytes);
    if (parser.isSet(batchOption)) {
        bool ok = false;
        settings.batch = parser.value(batchOption).toULongLong(&ok);
        if (!ok) {
            usageError(QStringLiteral("--batch takes a number, 0 for all at once"));
        }
    }
    settings.window = positiveOption(parser, windowOption, settings.window);
    settings.timeout = std::chrono::milliseconds(
        positiveOption(parser, timeoutOption, static_cast<std::size_t>(settings.timeout.count())));
    if (parser.isSet(brokerOption)) {
        settings.broker = parser.value(brokerOption);
    }
    settings.baseline = parser.value(baselineOption);
    settings.verbose = parser.isSet(verboseOption);
    raiseFileLimit(*std::max_element(settings.workers.begin(), settings.workers.end()));

    struct Broker {
        const char* label;
        QString program;
        std::vector<std::vector<Measurement>> runs; // per case
    };
    std::vector<Broker> brokers{{"test", settings.broker, {}}};
    if (!settings.baseline.isEmpty()) {
        brokers.push_back({"baseline", settings.baseline, {}});
    }
    struct Case {
        std::size_t workers;
        std::size_t queued;
    };
    std::vector<Case> cases;
    for (const std::size_t w : settings.workers) {
        for (const std::size_t q : settings.queued) {
            cases.push_back({w, q});
        }
    }
    for (Broker& broker : brokers) {
        broker.runs.resize(cases.size());
    }

    try {
        for (std::size_t c = 0; c < cases.size(); ++c) {
            const auto [workers, queued] = cases[c];
            for (int rep = 0; rep < settings.repeat; ++rep) {
                // Alternate which broker goes first, so that neither always runs on a warmer
                // machine.
                for (std::size_t i = 0; i < brokers.size(); ++i) {
                    Broker& broker = brokers[(i + static_cast<std::size_t>(rep)) % brokers.size()];
                    const Measurement m = measure(broker.program, workers, queued, settings);
                    if (settings.verbose) {
                        print(stderr, "# ", broker.label, workers, queued, settings, m);
                    }
                    broker.runs[c].push_back(m);
                }
            }
            for (const Broker& broker : brokers) {
                print(stdout, "", broker.label, workers, queued, settings, median(broker.runs[c]));
            }
            if (brokers.size() == 2) {
                const Measurement test = median(brokers[0].runs[c]);
                const Measurement base = median(brokers[1].runs[c]);
                std::printf("ratio workers=%zu queued=%zu bytes_per_queued=%.3f "
                            "cpu_us_per_dispatch=%.3f wall_us_per_dispatch=%.3f "
                            "snapshot_ms=%.3f (test / baseline)\n",
                            workers, queued, test.bytesPerQueued / base.bytesPerQueued,
                            test.cpuUsPerDispatch / base.cpuUsPerDispatch,
                            test.wallUsPerDispatch / base.wallUsPerDispatch,
                            test.snapshotMs / base.snapshotMs);
                std::fflush(stdout);
            }
        }
    } catch (const std::exception& error) {
        std::fflush(stdout);
        std::fprintf(stderr, "bench_scale: FAILED: %s\n", error.what());
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
