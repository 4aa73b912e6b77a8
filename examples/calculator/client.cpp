// Calls the calculator service: prints 2 and 4, then shows the remote division-by-zero error.
//
//   calculator_client [BROKER_FRONTEND ...]    (default tcp://127.0.0.1:5555)
//
// With several brokers the client spreads its calls over the ones that are up, and an
// idempotent call whose broker dies is retried on another.

#include <switchboard/client.h>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char* argv[])
{
    std::vector<std::string> brokers(argv + 1, argv + argc);
    if (!brokers.empty() && (brokers.front() == "--help" || brokers.front() == "-h")) {
        std::cout << "usage: calculator_client [BROKER_FRONTEND ...]\n";
        return 0;
    }
    if (brokers.empty()) {
        brokers.push_back("tcp://127.0.0.1:5555");
    }
    try {
        switchboard::Client client(brokers);
        // add_one and add_two may safely run twice: retried rather than lost with a broker.
        switchboard::CallOptions idempotent;
        idempotent.idempotent = true;
        try {
            std::cout << client.call<int>(idempotent, "calc", "add_one", 1) << '\n';
            std::cout << client.call<int>(idempotent, "calc", "add_two", 2) << '\n';
            std::cout << client.call<double>("calc", "divide", 1, 0) << '\n';
        } catch (const switchboard::RemoteError& error) {
            // The worker's exception, carried back: its type, its message, and with the
            // worker's verboseErrors option, where it happened.
            std::cout << "remote error " << error.type() << ": " << error.message() << '\n';
            if (!error.detail().empty()) {
                std::cout << error.detail() << '\n';
            }
        }
    } catch (const switchboard::Error& error) {
        std::cerr << "calculator_client: " << error.what() << '\n';
        return 1;
    } catch (const zmq::error_t& error) {
        std::cerr << "calculator_client: not a broker endpoint: " << error.what() << '\n';
        return 2;
    }
    return 0;
}
