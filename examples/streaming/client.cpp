// Iterates two streams of the `numbers` service: the primes below 30 as they arrive, then a
// countdown the worker breaks off, whose error surfaces where the loop reaches it.
//
//   streaming_client [BROKER_FRONTEND]    (default tcp://127.0.0.1:5555)

#include <switchboard/client.h>

#include <iostream>
#include <string>

int main(int argc, char* argv[])
{
    const std::string broker = argc > 1 ? argv[1] : "tcp://127.0.0.1:5555";
    switchboard::Client client(broker);
    try {
        std::cout << "primes below 30:";
        for (int prime : client.stream<int>("numbers", "primes", 30)) {
            std::cout << ' ' << prime << std::flush;
        }
        std::cout << '\n';

        std::cout << "countdown from 5, interrupted after 3:";
        for (int n : client.stream<int>("numbers", "countdown", 5, 3)) {
            std::cout << ' ' << n << std::flush;
        }
        std::cout << '\n';
    } catch (const switchboard::RemoteError& error) {
        std::cout << "\nstream ended with remote error " << error.type() << ": " << error.message()
                  << '\n';
    } catch (const switchboard::Error& error) {
        std::cerr << "\nstreaming_client: " << error.what() << '\n';
        return 1;
    }
    return 0;
}
