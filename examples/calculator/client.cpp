// Calls the calculator service: prints 2 and 4, then shows the remote division-by-zero error.
//
//   calculator_client [BROKER_FRONTEND]    (default tcp://127.0.0.1:5555)

#include <switchboard/client.h>

#include <iostream>
#include <string>

int main(int argc, char* argv[])
{
    const std::string broker = argc > 1 ? argv[1] : "tcp://127.0.0.1:5555";
    switchboard::Client client(broker);
    try {
        std::cout << client.call<int>("calc", "add_one", 1) << '\n';
        std::cout << client.call<int>("calc", "add_two", 2) << '\n';
        std::cout << client.call<double>("calc", "divide", 1, 0) << '\n';
    } catch (const switchboard::RemoteError& error) {
        // The worker's exception, carried back: its type, its message, and with the worker's
        // verboseErrors option, where it happened.
        std::cout << "remote error " << error.type() << ": " << error.message() << '\n';
        if (!error.detail().empty()) {
            std::cout << error.detail() << '\n';
        }
    } catch (const switchboard::Error& error) {
        std::cerr << "calculator_client: " << error.what() << '\n';
        return 1;
    }
    return 0;
}
