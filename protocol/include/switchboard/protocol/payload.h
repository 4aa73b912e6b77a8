#pragma once

#include <zmq.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <vector>

// What clientlib and workerlib need to turn envelope payloads into C++ values and to say, in an
// error text or an introspection reply, which types they expected and which they got.
namespace switchboard::rpc {

// Unpacks a frame that must hold exactly one msgpack object, of any type. The bytes are walked
// first without allocating, so a hostile array header cannot make msgpack reserve gigabytes.
// `what` names the frame in the error text. Throws ProtocolError (InvalidPayload).
msgpack::object_handle unpackPayload(const zmq::message_t& frame, std::string_view what);

// "an integer", "a string", "a map", ...: a msgpack type as an error text names it.
std::string_view describeType(msgpack::type::object_type type) noexcept;

// The readable name of a C++ type as the compiler spells it ("std::domain_error").
std::string demangle(const char* mangledName);

// A C++ type as a caller in another language should read it: "int", "float", "string", "bool",
// "array<int>", "map<string, float>". Types without a short name fall back to demangle().
template <typename T, typename = void>
struct TypeName {
    static std::string get() { return demangle(typeid(T).name()); }
};

template <typename T>
std::string typeName()
{
    return TypeName<std::remove_cvref_t<T>>::get();
}

template <>
struct TypeName<void> {
    static std::string get() { return "nil"; }
};
template <>
struct TypeName<bool> {
    static std::string get() { return "bool"; }
};
template <typename T>
struct TypeName<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
    static std::string get() { return std::is_signed_v<T> ? "int" : "uint"; }
};
template <typename T>
struct TypeName<T, std::enable_if_t<std::is_floating_point_v<T>>> {
    static std::string get() { return "float"; }
};
template <>
struct TypeName<std::string> {
    static std::string get() { return "string"; }
};
template <>
struct TypeName<std::string_view> {
    static std::string get() { return "string"; }
};
template <>
struct TypeName<msgpack::object> {
    static std::string get() { return "any"; }
};
template <>
struct TypeName<msgpack::object_handle> {
    static std::string get() { return "any"; }
};
template <typename T, typename A>
struct TypeName<std::vector<T, A>> {
    static std::string get() { return "array<" + typeName<T>() + ">"; }
};
template <typename T>
struct TypeName<std::optional<T>> {
    static std::string get() { return "optional<" + typeName<T>() + ">"; }
};
template <typename K, typename V, typename C, typename A>
struct TypeName<std::map<K, V, C, A>> {
    static std::string get() { return "map<" + typeName<K>() + ", " + typeName<V>() + ">"; }
};
template <typename K, typename V, typename H, typename E, typename A>
struct TypeName<std::unordered_map<K, V, H, E, A>> {
    static std::string get() { return "map<" + typeName<K>() + ", " + typeName<V>() + ">"; }
};
template <typename... T>
struct TypeName<std::tuple<T...>> {
    static std::string get()
    {
        std::string name = "tuple<";
        ((name += typeName<T>() + ", "), ...);
        if constexpr (sizeof...(T) > 0) {
            name.resize(name.size() - 2);
        }
        return name + ">";
    }
};

} // namespace switchboard::rpc
