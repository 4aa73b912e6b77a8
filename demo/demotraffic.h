#pragma once

#include <memory>
#include <string>

namespace zmq {
class context_t;
}

namespace switchboard::demo {

class DemoClients;
class DemoWorkers;
class FlakyWorker;

// Everything `switchboard --demo` adds to a broker: the services math, search, billing and
// reports with their workers, and clients calling them at a few hundred requests per second.
class DemoTraffic {
public:
    // `frontend` and `backend` are the broker's endpoints as a peer connects to them.
    DemoTraffic(zmq::context_t& context, std::string frontend, std::string backend);
    ~DemoTraffic(); // stop()

    DemoTraffic(const DemoTraffic&) = delete;
    DemoTraffic& operator=(const DemoTraffic&) = delete;

    void start();
    // Makes the clients stop calling, without waiting: before a broker shuts down, so that its
    // shutdown answers the last calls and none follow.
    void requestStop();
    // Stops the clients first (their calls end), then the workers. Safe to call twice.
    void stop();

private:
    zmq::context_t& m_context;
    std::string m_frontend;
    std::string m_backend;
    std::unique_ptr<DemoWorkers> m_workers;
    std::unique_ptr<FlakyWorker> m_flaky;
    std::unique_ptr<DemoClients> m_clients;
};

} // namespace switchboard::demo
