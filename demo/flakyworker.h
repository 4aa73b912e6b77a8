#pragma once

#include "pacer.h"

#include <string>
#include <thread>

namespace zmq {
class context_t;
}

namespace switchboard::demo {

// A worker of the demo that crashes now and then, as a real process would: every 20 to 40 s it
// drops its connection without a word (no DISCONNECT), sometimes in the middle of a request,
// stays away a few seconds and comes back under a new name. So the demo shows the broker
// noticing a dead worker and answering its request WorkerLost. Written on plain cppzmq (an
// 18/MDP worker) because workerlib, rightly, always says goodbye.
//
// Serves `render(int pages)`: 30 to 120 ms.
class FlakyWorker {
public:
    FlakyWorker(zmq::context_t& context, std::string backend, std::string service);
    ~FlakyWorker(); // stops and joins, saying DISCONNECT like a clean exit

    FlakyWorker(const FlakyWorker&) = delete;
    FlakyWorker& operator=(const FlakyWorker&) = delete;

private:
    void run();
    // One life: connects, serves until it is time to die or the demo stops. Returns whether the
    // demo stopped.
    bool live(int generation);

    zmq::context_t& m_context;
    const std::string m_backend;
    const std::string m_service;
    Pacer m_pacer;
    std::thread m_thread;
};

} // namespace switchboard::demo
