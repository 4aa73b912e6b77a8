#pragma once

#include "pacer.h"

#include <switchboard/client.h>

#include <string>
#include <thread>
#include <vector>

namespace switchboard::demo {

// The demo's callers: a few threads sharing one Client, each making a mix of calls to every
// demo service with short pauses between them, and one that every 15 s sends a burst of slow
// search.reindex calls without waiting for them, so that the search queue fills and drains. Errors
// are part of the show and are ignored. Started on construction, stopped and joined on destruction.
class DemoClients {
public:
    DemoClients(zmq::context_t& context, std::string frontend);
    ~DemoClients();

    DemoClients(const DemoClients&) = delete;
    DemoClients& operator=(const DemoClients&) = delete;

    // No new calls from now on; returns at once (calls in flight still end normally).
    void requestStop() { m_pacer.stop(); }

private:
    void callMix();
    void sendBursts();

    Client m_client;
    Pacer m_pacer;
    std::vector<std::thread> m_threads;
};

} // namespace switchboard::demo
