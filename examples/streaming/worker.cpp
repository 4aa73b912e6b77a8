// A streaming service, `numbers`: answers with items one by one (18/MDP PARTIALs), the C++
// counterpart of a Python generator.
//   primes(limit)         every prime below `limit`, each sent as soon as it is found
//   countdown(from, fail) from..1, and throws after `fail` items when fail > 0
//
//   streaming_worker [BROKER_BACKEND]    (default tcp://127.0.0.1:5556)

#include <switchboard/worker.h>

#include <csignal>
#include <iostream>
#include <stdexcept>
#include <string>

int main(int argc, char* argv[])
{
    const std::string broker = argc > 1 ? argv[1] : "tcp://127.0.0.1:5556";

    // main waits for SIGINT/SIGTERM in sigwait(); the worker's threads must not take them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    switchboard::Worker worker(broker, "numbers");
    worker.handleStream<int>("primes", [](switchboard::StreamWriter& out, int limit) {
        for (int candidate = 2; candidate < limit; ++candidate) {
            bool prime = true;
            for (int divisor = 2; divisor * divisor <= candidate && prime; ++divisor) {
                prime = candidate % divisor != 0;
            }
            if (prime) {
                out.write(candidate);
            }
        }
    });
    worker.handleStream<int>("countdown", [](switchboard::StreamWriter& out, int from, int fail) {
        for (int n = from; n > 0; --n) {
            if (fail > 0 && out.written() == static_cast<std::size_t>(fail)) {
                throw std::runtime_error("countdown interrupted after " + std::to_string(fail) +
                                         " items");
            }
            out.write(n);
        }
    });
    worker.start();
    std::cout << "streaming worker ready: service numbers via " << broker << std::endl;

    int received = 0;
    sigwait(&signals, &received);
    worker.stop();
    worker.wait();
    return 0;
}
