#include <switchboard/client.h>

#include "clientcore.h"

namespace switchboard {

Client::Client(std::string brokerEndpoint, ClientOptions options)
    : Client(std::vector<std::string>{std::move(brokerEndpoint)}, options)
{}

Client::Client(zmq::context_t& context, std::string brokerEndpoint, ClientOptions options)
    : Client(context, std::vector<std::string>{std::move(brokerEndpoint)}, options)
{}

Client::Client(std::vector<std::string> brokerEndpoints, ClientOptions options)
    : m_core(std::make_unique<detail::ClientCore>(nullptr, std::move(brokerEndpoints), options))
{}

Client::Client(zmq::context_t& context, std::vector<std::string> brokerEndpoints,
               ClientOptions options)
    : m_core(std::make_unique<detail::ClientCore>(&context, std::move(brokerEndpoints), options))
{}

Client::Client(std::initializer_list<std::string> brokerEndpoints, ClientOptions options)
    : Client(std::vector<std::string>(brokerEndpoints), options)
{}

Client::Client(zmq::context_t& context, std::initializer_list<std::string> brokerEndpoints,
               ClientOptions options)
    : Client(context, std::vector<std::string>(brokerEndpoints), options)
{}

Client::~Client() = default;

const std::string& Client::endpoint() const noexcept
{
    return m_core->endpoints().front();
}

const std::vector<std::string>& Client::endpoints() const noexcept
{
    return m_core->endpoints();
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
