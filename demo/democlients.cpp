#include "democlients.h"

#include <chrono>
#include <random>

namespace switchboard::demo {

namespace {

using namespace std::chrono_literals;

constexpr int kMixThreads = 3;
constexpr int kBurstSize = 10;

ClientOptions demoClientOptions()
{
    ClientOptions options;
    // Short: a call caught by the broker's shutdown is retried (they are idempotent) until its
    // deadline, and the demo's exit waits for it.
    options.timeout = 2s;
    return options;
}

} // namespace

DemoClients::DemoClients(zmq::context_t& context, std::string frontend)
    : m_client(context, std::move(frontend), demoClientOptions())
{
    for (int i = 0; i < kMixThreads; ++i) {
        m_threads.emplace_back([this] { callMix(); });
    }
    m_threads.emplace_back([this] { sendBursts(); });
}

DemoClients::~DemoClients()
{
    m_pacer.stop();
    for (auto& thread : m_threads) {
        thread.join();
    }
}

void DemoClients::callMix()
{
    std::mt19937 random{std::random_device{}()};
    // Weights of: math.add, math.divide, math.fib, search.query, billing.charge, reports.render
    std::discrete_distribution<int> pick({40, 10, 10, 20, 10, 10});
    std::uniform_int_distribution<int> small(0, 9);
    std::uniform_int_distribution<int> pause(5, 40);
    const CallOptions idempotent{std::nullopt, true};
    while (m_pacer.wait(std::chrono::milliseconds(pause(random)))) {
        try {
            switch (pick(random)) {
            case 0:
                m_client.call<double>(idempotent, "math", "add", small(random), small(random));
                break;
            case 1:
                m_client.call<double>(idempotent, "math", "divide", 10, small(random));
                break;
            case 2:
                m_client.call<std::uint64_t>(idempotent, "math", "fib", 20 + small(random));
                break;
            case 3:
                m_client.call<std::vector<std::string>>(idempotent, "search", "query",
                                                        std::string("switchboard"));
                break;
            case 4:
                m_client.call<int>("billing", "charge",
                                   std::string("ACME-") + std::to_string(small(random)),
                                   100 * (1 + small(random)));
                break;
            default:
                m_client.call<std::string>(idempotent, "reports", "render", 1 + small(random));
                break;
            }
        } catch (const Error&) {
            // Declined cards, zero divisors, a worker that died: what the dashboard is for.
        }
    }
}

void DemoClients::sendBursts()
{
    const CallOptions patient{10s, false};
    while (m_pacer.wait(15s)) {
        for (int shard = 0; shard < kBurstSize; ++shard) {
            m_client.callThen<int>(
                patient, [](CallResult<int>) {}, "search", "reindex", shard);
        }
    }
}

} // namespace switchboard::demo
