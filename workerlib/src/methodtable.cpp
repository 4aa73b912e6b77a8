#include "methodtable.h"

#include <msgpack.hpp>

#include <stdexcept>

namespace switchboard::detail {

namespace {

void packString(msgpack::packer<msgpack::sbuffer>& packer, std::string_view text)
{
    packer.pack_str(static_cast<std::uint32_t>(text.size()));
    packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

} // namespace

void MethodTable::add(Handler handler)
{
    const std::string& name = handler.info.name;
    if (!rpc::isValidMethod(name)) {
        throw std::invalid_argument("switchboard::Worker: invalid method name \"" + name +
                                    "\": 1 to 255 bytes without control characters");
    }
    if (name.starts_with(rpc::kReservedMethodPrefix)) {
        throw std::invalid_argument("switchboard::Worker: method name \"" + name +
                                    "\" uses the reserved prefix \"" +
                                    std::string(rpc::kReservedMethodPrefix) + "\"");
    }
    if (static_cast<bool>(handler.unary) == static_cast<bool>(handler.streaming)) {
        throw std::invalid_argument("switchboard::Worker: method \"" + name +
                                    "\" needs exactly one of a unary or a streaming handler");
    }
    if (m_handlers.contains(name)) {
        throw std::invalid_argument("switchboard::Worker: method \"" + name +
                                    "\" is registered already");
    }
    std::string key = name;
    m_handlers.emplace(std::move(key), std::move(handler));
}

const Handler* MethodTable::find(std::string_view method) const noexcept
{
    const auto found = m_handlers.find(method);
    return found == m_handlers.end() ? nullptr : &found->second;
}

std::string MethodTable::noSuchMethodText(std::string_view service, std::string_view method) const
{
    std::string text =
        "service '" + std::string(service) + "' has no method '" + std::string(method) + "'";
    if (m_handlers.empty()) {
        return text + " (it has no methods)";
    }
    text += " (its methods: ";
    bool first = true;
    for (const auto& [name, handler] : m_handlers) {
        text += first ? "" : ", ";
        text += name;
        first = false;
    }
    return text + ")";
}

std::string MethodTable::describe(std::string_view service, std::string_view identity,
                                  std::string_view version) const
{
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(4);
    packString(packer, "service");
    packString(packer, service);
    packString(packer, "worker");
    packString(packer, identity);
    packString(packer, "version");
    packString(packer, version);
    packString(packer, "methods");
    packer.pack_array(static_cast<std::uint32_t>(m_handlers.size()));
    for (const auto& [name, handler] : m_handlers) {
        const MethodInfo& info = handler.info;
        packer.pack_map(4);
        packString(packer, "name");
        packString(packer, info.name);
        packString(packer, "args");
        packer.pack_array(static_cast<std::uint32_t>(info.argTypes.size()));
        for (const std::string& type : info.argTypes) {
            packString(packer, type);
        }
        packString(packer, "returns");
        packString(packer, info.resultType);
        packString(packer, "streaming");
        packer.pack(info.streaming);
    }
    return std::string(buffer.data(), buffer.size());
}

} // namespace switchboard::detail
