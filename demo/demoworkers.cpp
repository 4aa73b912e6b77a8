#include "demoworkers.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <thread>

namespace switchboard::demo {

namespace {

std::mt19937& randomEngine()
{
    thread_local std::mt19937 engine{std::random_device{}()};
    return engine;
}

// Stands in for the work a real handler would do.
void workFor(double milliseconds)
{
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(milliseconds));
}

double uniform(double low, double high)
{
    return std::uniform_real_distribution<double>(low, high)(randomEngine());
}

std::uint64_t fibonacci(int n)
{
    std::uint64_t a = 0;
    std::uint64_t b = 1;
    for (int i = 0; i < n; ++i) {
        a = std::exchange(b, a + b);
    }
    return a;
}

} // namespace

DemoWorkers::DemoWorkers(zmq::context_t& context, const std::string& backend)
{
    for (int i = 0; i < 2; ++i) {
        add(context, backend, "math")
            .handle("add",
                    [](double a, double b) {
                        workFor(uniform(0.05, 0.6));
                        return a + b;
                    })
            .handle("divide",
                    [](double dividend, double divisor) {
                        workFor(uniform(0.05, 0.6));
                        if (divisor == 0) {
                            throw std::domain_error("division by zero");
                        }
                        return dividend / divisor;
                    })
            .handle("fib", [](int n) {
                if (n < 0 || n > 90) {
                    throw std::out_of_range("fib takes 0..90");
                }
                workFor(uniform(5, 15));
                return fibonacci(n);
            });
    }
    // Search workers as a deployment would run them: two threads each, and requests queued in
    // the worker rather than at the broker, so the monitor shows "2 / 8" rather than "busy".
    for (int i = 0; i < 2; ++i) {
        add(context, backend, "search", 2, 8)
            .handle("query",
                    [](const std::string& text) {
                        std::lognormal_distribution<double> latency(std::log(8.0), 0.6);
                        workFor(std::min(latency(randomEngine()), 400.0));
                        return std::vector<std::string>{text + " (result 1)", text + " (result 2)"};
                    })
            .handle("reindex", [](int shard) {
                workFor(uniform(300, 700));
                return shard;
            });
    }
    add(context, backend, "billing").handle("charge", [](const std::string& account, int cents) {
        workFor(uniform(10, 30));
        if (std::bernoulli_distribution(0.05)(randomEngine())) {
            throw std::runtime_error("card of " + account + " declined");
        }
        return cents;
    });
    for (auto& worker : m_workers) {
        worker->start();
    }
}

DemoWorkers::~DemoWorkers()
{
    for (auto& worker : m_workers) {
        worker->stop();
    }
    for (auto& worker : m_workers) {
        worker->wait();
    }
}

Worker& DemoWorkers::add(zmq::context_t& context, const std::string& backend,
                         const std::string& service, int threads, int credit)
{
    int sameService = 1;
    for (const auto& worker : m_workers) {
        sameService += worker->service() == service ? 1 : 0;
    }
    WorkerOptions options;
    options.identity = service + "-" + std::to_string(sameService);
    options.threads = threads;
    options.maxInFlight = credit;
    return *m_workers.emplace_back(std::make_unique<Worker>(context, backend, service, options));
}

} // namespace switchboard::demo
