#pragma once

#include <QByteArray>
#include <QString>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>

// The knobs of the chaos run, from the environment (tst_chaos.cpp lists them). The defaults are
// the run the issue asks for, bounded for CI.
struct ChaosOptions {
    std::int64_t requests = 20000;
    int workers = 4;
    // Calls in flight per client.
    int concurrency = 8;
    std::chrono::milliseconds killInterval{500};
    int restarts = 1;
    // Every call's deadline (CallOptions::timeout).
    std::chrono::milliseconds deadline{5000};
    // ClientOptions::maxRetries: the library's default unless set. 0 shows what the broker
    // recovers on its own.
    std::optional<int> clientRetries;
    // Heartbeat of the broker and the workers, and how many of them may be missed.
    std::chrono::milliseconds heartbeat{250};
    int liveness = 3;
    // Picks which worker dies and how long each call works; printed, so a run can be repeated
    // as closely as its timing allows.
    std::uint64_t seed = std::random_device()();

    // Reads CHAOS_* variables; nullopt and `error` for a value that is not a number in range.
    static std::optional<ChaosOptions> fromEnvironment(QString& error)
    {
        ChaosOptions options;
        const auto read = [&error](const char* name, std::int64_t minimum, std::int64_t maximum,
                                   std::int64_t fallback) -> std::int64_t {
            const QByteArray text = qgetenv(name);
            if (text.isEmpty()) {
                return fallback;
            }
            bool ok = false;
            const qint64 value = text.toLongLong(&ok);
            if (!ok || value < minimum || value > maximum) {
                error = QStringLiteral("%1 takes a whole number from %2 to %3, not '%4'")
                            .arg(QLatin1String(name))
                            .arg(minimum)
                            .arg(maximum)
                            .arg(QString::fromLocal8Bit(text));
                return fallback;
            }
            return value;
        };
        options.requests = read("CHAOS_REQUESTS", 1, 100'000'000, options.requests);
        options.workers = static_cast<int>(read("CHAOS_WORKERS", 2, 64, options.workers));
        options.concurrency =
            static_cast<int>(read("CHAOS_CONCURRENCY", 1, 256, options.concurrency));
        options.killInterval = std::chrono::milliseconds(
            read("CHAOS_KILL_INTERVAL_MS", 10, 3'600'000, options.killInterval.count()));
        options.restarts = static_cast<int>(read("CHAOS_RESTARTS", 0, 1000, options.restarts));
        options.deadline = std::chrono::milliseconds(
            read("CHAOS_DEADLINE_MS", 1, 3'600'000, options.deadline.count()));
        if (!qgetenv("CHAOS_CLIENT_RETRIES").isEmpty()) {
            options.clientRetries = static_cast<int>(read("CHAOS_CLIENT_RETRIES", 0, 100, 0));
        }
        options.seed = static_cast<std::uint64_t>(read("CHAOS_SEED", 0,
                                                       std::numeric_limits<std::uint32_t>::max(),
                                                       static_cast<std::int64_t>(options.seed)));
        if (!error.isEmpty()) {
            return std::nullopt;
        }
        return options;
    }
};
