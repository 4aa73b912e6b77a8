#include "errorreport.h"

#include <switchboard/protocol/payload.h>
#include <switchboard/worker.h>

#include <execinfo.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <typeinfo>

namespace switchboard::detail {

namespace {

constexpr std::string_view kTypeError = "TypeError";
constexpr std::string_view kUnknownException = "UnknownException";
constexpr int kMaxFrames = 48;

// backtrace_symbols() writes "module(mangled+0x1f) [0x55d0c0]"; the mangled name is only there
// for exported symbols (executables need -rdynamic, CMake's ENABLE_EXPORTS, for their own).
std::string readableFrame(std::string_view symbol)
{
    const auto open = symbol.find('(');
    const auto plus = symbol.find('+', open == std::string_view::npos ? 0 : open);
    if (open == std::string_view::npos || plus == std::string_view::npos || plus <= open + 1) {
        return std::string(symbol);
    }
    const std::string mangled(symbol.substr(open + 1, plus - open - 1));
    return rpc::demangle(mangled.c_str()) + " in " + std::string(symbol.substr(0, open));
}

// Frame 0 (this function) is left out.
[[gnu::noinline]] std::string stackTrace()
{
    void* frames[kMaxFrames];
    const int count = ::backtrace(frames, kMaxFrames);
    const std::unique_ptr<char*, decltype(&std::free)> symbols(::backtrace_symbols(frames, count),
                                                               &std::free);
    if (!symbols) {
        return "  (no stack trace: out of memory)\n";
    }
    std::string trace;
    for (int i = 1; i < count; ++i) {
        trace += "  #" + std::to_string(i - 1) + ' ' + readableFrame(symbols.get()[i]) + '\n';
    }
    return trace;
}

} // namespace

rpc::ErrorInfo ErrorReport::ofCurrentException() const noexcept
{
    try {
        rpc::ErrorInfo error;
        try {
            throw;
        } catch (const TypeError& e) {
            error.type = kTypeError;
            error.message = e.what();
        } catch (const std::exception& e) {
            error.type = rpc::demangle(typeid(e).name());
            error.message = e.what();
        } catch (...) {
            error.type = kUnknownException;
            error.message = "the handler threw something that is not a std::exception";
        }
        if (verbose) {
            // The throw site is gone by now: C++ records no trace in an exception, and the stack
            // was unwound up to the library's catch. So this is the handler call as the library
            // made it, which still says which thread and request it was.
            error.detail = error.type + ": " + error.message + "\n" + "worker " +
                           std::string(identity) + ", thread " + std::to_string(thread) + " of " +
                           std::to_string(threads) + "\n" + "in " + std::string(service) + "." +
                           std::string(method) + "\n" +
                           "stack where the worker caught the exception (C++ does not record "
                           "where it was thrown):\n" +
                           stackTrace();
        }
        return error;
    } catch (...) {
        // Out of memory while describing the error: say what can be said without allocating
        // much more.
        return rpc::ErrorInfo{std::string(kUnknownException), "error report failed", {}};
    }
}

} // namespace switchboard::detail
