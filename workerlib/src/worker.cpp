#include <switchboard/worker.h>

#include "workercore.h"

namespace switchboard {

Worker::Worker(std::string brokerEndpoint, std::string service, WorkerOptions options)
    : m_core(std::make_unique<detail::WorkerCore>(nullptr, std::move(brokerEndpoint),
                                                  std::move(service), std::move(options)))
{}

Worker::Worker(zmq::context_t& context, std::string brokerEndpoint, std::string service,
               WorkerOptions options)
    : m_core(std::make_unique<detail::WorkerCore>(&context, std::move(brokerEndpoint),
                                                  std::move(service), std::move(options)))
{}

Worker::Worker(std::vector<std::string> brokerEndpoints, std::string service, WorkerOptions options)
    : m_core(std::make_unique<detail::WorkerCore>(nullptr, std::move(brokerEndpoints),
                                                  std::move(service), std::move(options)))
{}

Worker::Worker(zmq::context_t& context, std::vector<std::string> brokerEndpoints,
               std::string service, WorkerOptions options)
    : m_core(std::make_unique<detail::WorkerCore>(&context, std::move(brokerEndpoints),
                                                  std::move(service), std::move(options)))
{}

Worker::~Worker() = default; // WorkerCore's destructor stops and waits

void Worker::run()
{
    m_core->start();
    m_core->wait();
}

void Worker::start()
{
    m_core->start();
}

void Worker::stop()
{
    m_core->stop();
}

void Worker::wait()
{
    m_core->wait();
}

const std::string& Worker::service() const noexcept
{
    return m_core->service();
}

const std::string& Worker::identity() const noexcept
{
    return m_core->identity();
}

zmq::message_t Worker::describe() const
{
    const std::string description = m_core->describe();
    return zmq::message_t(description.data(), description.size());
}

void Worker::addHandler(detail::Handler handler)
{
    m_core->addHandler(std::move(handler));
}

} // namespace switchboard
