#pragma once

#include <switchboard/protocol/envelope.h>

#include <string_view>

namespace switchboard::detail {

// Where the worker caught an exception from a handler (or from converting its arguments), and
// how much of that the client is told.
struct ErrorReport {
    std::string_view service;
    std::string_view method;
    std::string_view identity;
    int thread = 0; // which of the worker's threads ran the handler, from 1
    int threads = 0;
    bool verbose = false;

    // The error map for the exception being handled; call it only inside a catch block. Type:
    // "TypeError" for switchboard::TypeError, the demangled dynamic type of any other
    // std::exception, "UnknownException" for anything else. Never throws.
    rpc::ErrorInfo ofCurrentException() const noexcept;
};

} // namespace switchboard::detail
