#include "demotraffic.h"

#include "democlients.h"
#include "demoworkers.h"
#include "flakyworker.h"

namespace switchboard::demo {

DemoTraffic::DemoTraffic(zmq::context_t& context, std::string frontend, std::string backend)
    : m_context(context)
    , m_frontend(std::move(frontend))
    , m_backend(std::move(backend))
{}

DemoTraffic::~DemoTraffic()
{
    stop();
}

void DemoTraffic::start()
{
    if (m_workers) {
        return;
    }
    m_workers = std::make_unique<DemoWorkers>(m_context, m_backend);
    m_flaky = std::make_unique<FlakyWorker>(m_context, m_backend, "reports");
    m_clients = std::make_unique<DemoClients>(m_context, m_frontend);
}

void DemoTraffic::requestStop()
{
    if (m_clients) {
        m_clients->requestStop();
    }
}

void DemoTraffic::stop()
{
    m_clients.reset();
    m_flaky.reset();
    m_workers.reset();
}

} // namespace switchboard::demo
