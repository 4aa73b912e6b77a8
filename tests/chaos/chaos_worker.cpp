// One worker process of the chaos test (tst_chaos.cpp): service "chaos", method
// work(call_id, idempotent), which waits a random 0-5 ms and returns call_id.
//
//   chaos_worker --broker EP [--broker EP2 ...] --log FILE [--heartbeat-ms MS] [--liveness N]
//                [--seed N]
//
// With several --broker options it keeps a session with each broker (tests/multihost).
//
// Every execution is appended to FILE as one line "call_id idempotent steady_ns" (steady_ns:
// CLOCK_MONOTONIC at the start of the execution, comparable across processes) with one write(2)
// on an O_APPEND descriptor, before the handler waits or returns. So a SIGKILL loses no
// execution that could have been answered, and an execution the test finds in no log did not
// happen. Once it has printed "chaos_worker ready", SIGTERM stops it gracefully (exit code 0).

#include <switchboard/worker.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr int kUsageError = 2;
constexpr std::int64_t kMaxWorkMicroseconds = 5000;

std::optional<std::int64_t> parseNumber(std::string_view text, std::int64_t minimum)
{
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < minimum) {
        return std::nullopt;
    }
    return value;
}

int usage(const std::string& why)
{
    std::cerr << "chaos_worker: " << why
              << "\nusage: chaos_worker --broker EP [--broker EP2 ...] --log FILE "
                 "[--heartbeat-ms MS] [--liveness N] [--seed N]\n";
    return kUsageError;
}

// The execution log: one descriptor, one write(2) per line, nothing buffered in the process.
class ExecutionLog {
public:
    explicit ExecutionLog(const std::string& path)
        : m_fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644))
    {}
    ~ExecutionLog()
    {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    ExecutionLog(const ExecutionLog&) = delete;
    ExecutionLog& operator=(const ExecutionLog&) = delete;

    bool isOpen() const noexcept { return m_fd >= 0; }

    // Throws when the line cannot be written whole: the call must then fail rather than run
    // unrecorded, or the test would count a reply that no log explains.
    void append(std::int64_t callId, bool idempotent)
    {
        const auto now = std::chrono::steady_clock::now().time_since_epoch();
        char line[96];
        const int size = std::snprintf(
            line, sizeof line, "%lld %d %lld\n", static_cast<long long>(callId), idempotent ? 1 : 0,
            static_cast<long long>(std::chrono::nanoseconds(now).count()));
        ssize_t written = 0;
        do {
            written = ::write(m_fd, line, static_cast<std::size_t>(size));
        } while (written < 0 && errno == EINTR);
        if (written != size) {
            throw std::runtime_error(std::string("cannot write the execution log: ") +
                                     (written < 0 ? std::strerror(errno) : "short write"));
        }
    }

private:
    int m_fd;
};

} // namespace

int main(int argc, char* argv[])
{
    std::vector<std::string> brokers;
    std::string logPath;
    switchboard::WorkerOptions options;
    options.heartbeatInterval = std::chrono::milliseconds(250);
    options.liveness = 3;
    std::uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view option = argv[i];
        if (option == "--help" || option == "-h") {
            usage("a worker for the chaos test");
            return 0;
        }
        if (i + 1 >= argc) {
            return usage(std::string(option) + " needs a value");
        }
        const std::string_view value = argv[++i];
        if (option == "--broker") {
            brokers.emplace_back(value);
        } else if (option == "--log") {
            logPath = value;
        } else if (option == "--heartbeat-ms") {
            const auto ms = parseNumber(value, 1);
            if (!ms) {
                return usage("--heartbeat-ms takes a positive whole number");
            }
            options.heartbeatInterval = std::chrono::milliseconds(*ms);
        } else if (option == "--liveness") {
            const auto count = parseNumber(value, 1);
            if (!count || *count > 1000) {
                return usage("--liveness takes a whole number from 1 to 1000");
            }
            options.liveness = static_cast<int>(*count);
        } else if (option == "--seed") {
            const auto number = parseNumber(value, 0);
            if (!number) {
                return usage("--seed takes a whole number");
            }
            seed = static_cast<std::uint64_t>(*number);
        } else {
            return usage("unknown option " + std::string(option));
        }
    }
    if (brokers.empty() || logPath.empty()) {
        return usage("--broker and --log are required");
    }
    ExecutionLog log(logPath);
    if (!log.isOpen()) {
        std::cerr << "chaos_worker: cannot open " << logPath << ": " << std::strerror(errno)
                  << '\n';
        return 1;
    }

    // Blocked in every thread (the worker's threads inherit the mask), so that main receives
    // SIGTERM in sigwait() and stops the worker gracefully.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    // One handler thread (WorkerOptions::threads = 1), so the generator needs no lock.
    std::mt19937_64 random(seed ^ static_cast<std::uint64_t>(::getpid()));
    std::uniform_int_distribution<std::int64_t> workTime(0, kMaxWorkMicroseconds);
    switchboard::Worker worker(brokers, "chaos", options);
    worker.handle("work", [&](std::int64_t callId, bool idempotent) {
        log.append(callId, idempotent);
        // Simulated work, so that a SIGKILL finds requests in flight.
        std::this_thread::sleep_for(std::chrono::microseconds(workTime(random)));
        return callId;
    });
    worker.start();
    // From here on SIGTERM stops the worker gracefully; before, it just ends the process.
    std::cout << "chaos_worker ready" << std::endl;

    int received = 0;
    sigwait(&signals, &received);
    worker.stop();
    worker.wait();
    return 0;
}
