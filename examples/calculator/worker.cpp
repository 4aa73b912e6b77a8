// The calculator service, the classic first worker: `calc` with add_one, add_two and divide.
//
//   calculator_worker [--verbose-errors] [--resolve-interval MS] [BROKER_BACKEND ...]
//                                                       (default tcp://127.0.0.1:5556)
//
// Several backends, or one tcp:// host name that resolves to several addresses, serve every
// broker at once (one session each); names are resolved again every MS milliseconds (10000).

#include <switchboard/worker.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char* argv[])
{
    std::vector<std::string> brokers;
    switchboard::WorkerOptions options;
    for (int i = 1; i < argc; ++i) {
        const std::string argument = argv[i];
        if (argument == "--verbose-errors") {
            options.verboseErrors = true;
        } else if (argument == "--resolve-interval" && i + 1 < argc) {
            try {
                options.resolveInterval = std::chrono::milliseconds(std::stoi(argv[++i]));
            } catch (const std::exception&) {
                std::cerr << "calculator_worker: --resolve-interval takes milliseconds\n";
                return 2;
            }
        } else if (argument == "--help" || argument == "-h") {
            std::cout << "usage: calculator_worker [--verbose-errors] [--resolve-interval MS] "
                         "[BROKER_BACKEND ...]\n";
            return 0;
        } else if (argument.starts_with('-')) {
            std::cerr << "calculator_worker: unknown option " << argument << '\n';
            return 2;
        } else {
            brokers.push_back(argument);
        }
    }
    if (brokers.empty()) {
        brokers.push_back("tcp://127.0.0.1:5556");
    }

    // Block SIGINT and SIGTERM in every thread (the worker's threads inherit the mask), so that
    // main receives them in sigwait() and can stop the worker gracefully.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    // One address is one broker, as with the single-endpoint constructor; a host name is one
    // broker per address it resolves to.
    switchboard::Worker worker(brokers, "calc", options);
    worker.handle("add_one", [](int n) { return n + 1; });
    worker.handle("add_two", [](int n) { return n + 2; });
    worker.handle("divide", [](double dividend, double divisor) {
        if (divisor == 0) {
            throw std::domain_error("division by zero");
        }
        return dividend / divisor;
    });
    worker.start();
    std::string via;
    for (const auto& broker : brokers) {
        via += (via.empty() ? "" : " ") + broker;
    }
    std::cout << "calculator worker ready: service calc via " << via << std::endl;

    int received = 0;
    sigwait(&signals, &received);
    worker.stop();
    worker.wait();
    return 0;
}
