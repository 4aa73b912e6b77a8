#include <switchboard/protocol/brokerendpoints.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace switchboard {

namespace {

constexpr std::string_view kTcp = "tcp://";

struct HostPort {
    std::string host;
    std::string port;
};

// "tcp://host:port" -> {host, port}; nullopt-like empty host for other transports.
HostPort splitTcp(const std::string& endpoint)
{
    if (endpoint.empty()) {
        throw std::invalid_argument("empty broker endpoint");
    }
    if (endpoint.compare(0, kTcp.size(), kTcp) != 0) {
        return {};
    }
    const std::string rest = endpoint.substr(kTcp.size());
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon + 1 == rest.size() ||
        rest.find(']', colon) != std::string::npos) {
        throw std::invalid_argument("broker endpoint \"" + endpoint +
                                    "\" has no port (tcp://host:port expected)");
    }
    return {rest.substr(0, colon), rest.substr(colon + 1)};
}

bool isAddressLiteral(const std::string& host)
{
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        return true;
    }
    unsigned char buffer[sizeof(in6_addr)];
    return host == "*" || inet_pton(AF_INET, host.c_str(), buffer) == 1;
}

} // namespace

BrokerEndpoints::BrokerEndpoints(std::vector<std::string> configured)
    : m_configured(std::move(configured))
    , m_resolved(m_configured.size())
{
    if (m_configured.empty()) {
        throw std::invalid_argument("no broker endpoint given");
    }
    for (const auto& endpoint : m_configured) {
        (void)splitTcp(endpoint); // throws for a malformed one, before anything is resolved
    }
    refresh();
}

bool BrokerEndpoints::refresh()
{
    std::vector<std::string> next;
    for (std::size_t i = 0; i < m_configured.size(); ++i) {
        auto addresses = resolve(m_configured[i]);
        if (!addresses.empty()) {
            m_resolved[i] = std::move(addresses);
        }
        if (m_resolved[i].empty()) {
            next.push_back(m_configured[i]);
        } else {
            next.insert(next.end(), m_resolved[i].begin(), m_resolved[i].end());
        }
    }
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());
    if (next == m_current) {
        return false;
    }
    m_current = std::move(next);
    return true;
}

std::vector<std::string> BrokerEndpoints::resolve(const std::string& endpoint)
{
    const HostPort parts = splitTcp(endpoint);
    if (parts.host.empty() || isAddressLiteral(parts.host)) {
        return {endpoint};
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(parts.host.c_str(), nullptr, &hints, &found) != 0) {
        return {};
    }
    const std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, freeaddrinfo);
    std::vector<std::string> endpoints;
    for (const addrinfo* info = found; info != nullptr; info = info->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        if (info->ai_family == AF_INET) {
            const auto* address = reinterpret_cast<const sockaddr_in*>(info->ai_addr);
            inet_ntop(AF_INET, &address->sin_addr, text, sizeof text);
            endpoints.push_back(std::string(kTcp) + text + ":" + parts.port);
        } else if (info->ai_family == AF_INET6) {
            const auto* address = reinterpret_cast<const sockaddr_in6*>(info->ai_addr);
            inet_ntop(AF_INET6, &address->sin6_addr, text, sizeof text);
            endpoints.push_back(std::string(kTcp) + "[" + text + "]:" + parts.port);
        }
    }
    std::sort(endpoints.begin(), endpoints.end());
    endpoints.erase(std::unique(endpoints.begin(), endpoints.end()), endpoints.end());
    return endpoints;
}

} // namespace switchboard
