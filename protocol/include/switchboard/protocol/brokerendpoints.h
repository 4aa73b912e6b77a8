#pragma once

#include <string>
#include <vector>

namespace switchboard {

// The brokers a client or worker talks to, as the user named them and as they resolve now.
//
// Several live brokers are found the way a platform publishes them: listed one by one, or
// behind one host name that resolves to an address per broker (a Kubernetes headless Service,
// a DNS round-robin name). "tcp://brokers.example:5555" that resolves to 10.0.0.1 and 10.0.0.2
// counts as the two brokers "tcp://10.0.0.1:5555" and "tcp://10.0.0.2:5555". Names are resolved
// again on refresh(), so brokers that appear or go are picked up without a restart.
//
// Endpoints that are not tcp:// with a host name (an address literal, ipc://, inproc://) stand
// for one broker each, as given. A name that does not resolve right now keeps the addresses it
// had; one that never resolved stays as given, so libzmq keeps trying it as it would any
// endpoint.
class BrokerEndpoints {
public:
    // Resolves at once. Throws std::invalid_argument for an empty list, an empty endpoint, or a
    // tcp:// endpoint without a port ("tcp://host").
    explicit BrokerEndpoints(std::vector<std::string> configured);

    // Resolves every configured name again; true when the set of brokers changed.
    bool refresh();

    // What the user gave.
    const std::vector<std::string>& configured() const noexcept { return m_configured; }
    // One endpoint per broker, sorted and without duplicates; never empty.
    const std::vector<std::string>& current() const noexcept { return m_current; }

    // The addresses `endpoint` stands for now: itself unless it is tcp:// with a host name that
    // resolves. Empty when the name does not resolve. Throws std::invalid_argument as above.
    static std::vector<std::string> resolve(const std::string& endpoint);

private:
    std::vector<std::string> m_configured;
    std::vector<std::vector<std::string>> m_resolved; // per configured endpoint, last success
    std::vector<std::string> m_current;
};

} // namespace switchboard
