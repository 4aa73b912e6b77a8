// The out-of-line halves of the handler templates in worker.h: argument errors and nil.
#include <switchboard/worker.h>

#include <string>

namespace switchboard::detail {

void throwArgCountError(const msgpack::object& args, const std::vector<std::string>& argTypes,
                        std::string_view method)
{
    std::string text = std::string(method) + "() takes ";
    if (argTypes.empty()) {
        text += "no arguments";
    } else {
        text += std::to_string(argTypes.size()) +
                (argTypes.size() == 1 ? " argument (" : " arguments (");
        for (std::size_t i = 0; i < argTypes.size(); ++i) {
            text += (i == 0 ? "" : ", ") + argTypes[i];
        }
        text += ')';
    }
    // rpc::parseRequest lets only arrays through; anything else is a caller of the template that
    // skipped it, and still deserves a readable text.
    text += args.type == msgpack::type::ARRAY
                ? ", got " + std::to_string(args.via.array.size)
                : ", got " + std::string(rpc::describeType(args.type)) + " instead of an array";
    throw TypeError(text);
}

void throwArgTypeError(std::string_view method, std::size_t index, const std::string& expected,
                       const msgpack::object& got)
{
    throw TypeError(std::string(method) + "() argument " + std::to_string(index + 1) +
                    ": expected " + expected + ", got " + std::string(rpc::describeType(got.type)));
}

zmq::message_t packNil()
{
    static constexpr char kNil = '\xc0';
    return zmq::message_t(&kNil, 1);
}

} // namespace switchboard::detail
