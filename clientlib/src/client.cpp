#include <switchboard/client.h>

#include "clientcore.h"

namespace switchboard {

Client::Client(std::string brokerEndpoint, ClientOptions options)
    : m_core(std::make_unique<detail::ClientCore>(nullptr, std::move(brokerEndpoint), options))
{}

Client::Client(zmq::context_t& context, std::string brokerEndpoint, ClientOptions options)
    : m_core(std::make_unique<detail::ClientCore>(&context, std::move(brokerEndpoint), options))
{}

Client::~Client() = default;

const std::string& Client::endpoint() const noexcept
{
    return m_core->endpoint();
}

const ClientOptions& Client::options() const noexcept
{
    return m_core->options();
}

msgpack::object_handle Client::callPacked(detail::CallRequest request)
{
    return m_core->call(std::move(request));
}

void Client::callPackedAsync(
    detail::CallRequest request,
    std::function<void(msgpack::object_handle* reply, std::exception_ptr error)> onDone)
{
    m_core->callAsync(std::move(request), std::move(onDone));
}

std::unique_ptr<detail::StreamSource> Client::openStream(detail::CallRequest request)
{
    return m_core->openStream(std::move(request));
}

} // namespace switchboard
