#pragma once

#include <switchboard/protocol/error.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>

// What the targets assert. A violation aborts, which libFuzzer reports as a crash and saves the
// input for; a ProtocolError is the only way a parser may reject a message.
namespace switchboard::fuzz {

[[noreturn]] inline void invariantViolated(const char* what, const char* file, int line)
{
    std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
    std::abort();
}

// Not assert(): the fuzz preset builds with NDEBUG, and these must hold in every build.
#define FUZZ_REQUIRE(condition)                                                                    \
    ((condition) ? void(0) : ::switchboard::fuzz::invariantViolated(#condition, __FILE__, __LINE__))

[[noreturn]] inline void unexpectedException(std::string_view call, const char* what)
{
    std::fprintf(stderr, "%.*s threw something other than a ProtocolError: %s\n",
                 static_cast<int>(call.size()), call.data(), what);
    std::abort();
}

// What a parser made of a message: its result, or the kind of ProtocolError it threw.
template <typename T>
struct Outcome {
    std::optional<T> value;
    std::optional<ProtocolErrorKind> error;

    explicit operator bool() const noexcept { return value.has_value(); }
    const T& operator*() const { return *value; }
    const T* operator->() const { return &*value; }
};

// Error texts end up in log lines and counters, and may quote what a peer sent: bytetext.h
// escapes and cuts such bytes, so a text is short printable ASCII whatever the input was.
inline bool isLogSafe(std::string_view text) noexcept
{
    constexpr std::size_t kMaxErrorText = 512;
    if (text.empty() || text.size() > kMaxErrorText) {
        return false;
    }
    for (const char c : text) {
        if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

// Runs `parse`: anything it throws other than a ProtocolError of a known kind, with a log-safe
// text, aborts.
template <typename Parse>
auto parseOrReject(std::string_view call, Parse&& parse) -> Outcome<std::invoke_result_t<Parse>>
{
    try {
        return {parse(), std::nullopt};
    } catch (const ProtocolError& e) {
        FUZZ_REQUIRE(e.kind() < ProtocolErrorKind::Count);
        FUZZ_REQUIRE(toString(e.kind()) != "unknown");
        if (!isLogSafe(e.what())) {
            std::fprintf(stderr, "%.*s: error text not log-safe: %s\n",
                         static_cast<int>(call.size()), call.data(), e.what());
            std::abort();
        }
        return {std::nullopt, e.kind()};
    } catch (const std::exception& e) {
        unexpectedException(call, e.what());
    } catch (...) {
        unexpectedException(call, "not a std::exception");
    }
}

// Runs `call`, which must not throw at all: a builder on valid input, or a parser on what a
// builder made.
template <typename Call>
auto mustSucceed(std::string_view name, Call&& call) -> std::invoke_result_t<Call>
{
    try {
        return call();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%.*s threw on input it must accept: %s\n",
                     static_cast<int>(name.size()), name.data(), e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "%.*s threw on input it must accept\n", static_cast<int>(name.size()),
                     name.data());
        std::abort();
    }
}

} // namespace switchboard::fuzz
