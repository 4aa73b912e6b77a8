// Calls a service through a broker that is not there: a TimeoutError after 200 ms means the
// installed headers and library link and work (options, connection, deadline, typed errors).
#include <switchboard/client.h>

#include <chrono>
#include <iostream>

int main()
{
    switchboard::ClientOptions options;
    options.timeout = std::chrono::milliseconds(200);
    switchboard::Client client("tcp://127.0.0.1:9", options);
    try {
        client.call<int>("calc", "add_one", 1);
    } catch (const switchboard::TimeoutError&) {
        std::cout << "consumer: TimeoutError as expected\n";
        return 0;
    }
    std::cout << "consumer: the call returned without a broker\n";
    return 1;
}
