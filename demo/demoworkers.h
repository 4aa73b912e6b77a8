#pragma once

#include <switchboard/worker.h>

#include <memory>
#include <string>
#include <vector>

namespace switchboard::demo {

// The well-behaved demo services, each served by workerlib workers named after them
// ("math-1", "search-2", ...):
//   math     add (well under a millisecond), divide (fails on a zero divisor), fib (5-15 ms)
//   search   query (log-normal around 8 ms, with a long tail), reindex (the slow one: 0.3-0.7 s)
//   billing  charge (10-30 ms, one call in twenty declined with an error)
// Started on construction, stopped (in-flight calls answered) on destruction.
class DemoWorkers {
public:
    DemoWorkers(zmq::context_t& context, const std::string& backend);
    ~DemoWorkers();

    DemoWorkers(const DemoWorkers&) = delete;
    DemoWorkers& operator=(const DemoWorkers&) = delete;

private:
    // `threads` handlers, holding up to `credit` requests (docs/PROTOCOL.md §11.1).
    Worker& add(zmq::context_t& context, const std::string& backend, const std::string& service,
                int threads = 1, int credit = 1);

    std::vector<std::unique_ptr<Worker>> m_workers;
};

} // namespace switchboard::demo
