#pragma once

#include <string>
#include <string_view>

namespace switchboard::detail {

// "service.method", the prefix of every error text a call produces.
struct CallName {
    std::string_view service;
    std::string_view method;

    // "service.method: what"
    std::string describe(std::string_view what) const
    {
        std::string text;
        text.reserve(service.size() + method.size() + what.size() + 3);
        text.append(service).append(".").append(method).append(": ").append(what);
        return text;
    }
};

} // namespace switchboard::detail
