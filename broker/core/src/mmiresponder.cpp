#include <switchboard/routing/mmiresponder.h>

#include <switchboard/protocol/envelope.h>
#include <switchboard/protocol/error.h>

#include <msgpack.hpp>

#include <map>
#include <string>

namespace switchboard {

namespace {

constexpr std::string_view kService = "mmi.service";
constexpr std::string_view kServices = "mmi.services";
constexpr std::string_view kWorkers = "mmi.workers";
constexpr std::string_view kCapacity = "mmi.capacity";

zmq::message_t frameOf(std::string_view text)
{
    return zmq::message_t(text.data(), text.size());
}

template <typename T>
zmq::message_t packed(const T& value)
{
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, value);
    return zmq::message_t(buffer.data(), buffer.size());
}

bool hasLiveWorkers(const ServiceRegistry& registry, std::string_view name)
{
    const Service* service = registry.find(name);
    return service && service->workerCount() > 0;
}

} // namespace

std::map<std::string, MmiResponder::Capacity> MmiResponder::capacities() const
{
    std::map<std::string, Capacity> lines;
    m_workers.forEach([&](const RegisteredWorker& worker) {
        Capacity& line = lines[worker.service().name()];
        ++line.workers;
        line.capacity += static_cast<std::size_t>(worker.capacity());
        line.inFlight += worker.inFlight().size();
    });
    m_registry.forEach([&](const Service& service) {
        if (service.queued() > 0) {
            lines[service.name()].queued = service.queued();
        }
    });
    return lines;
}

void MmiResponder::answer(std::string_view service, Frames& frames, std::size_t bodyBegin,
                          Frames& out) const
{
    rpc::RequestEnvelope envelope;
    try {
        envelope = rpc::parseRequest(frames, bodyBegin);
    } catch (const ProtocolError&) {
        answerRaw(service, frames, bodyBegin, out);
        return;
    }
    answerEnvelope(service, envelope, frames, out);
}

void MmiResponder::answerEnvelope(std::string_view service, const rpc::RequestEnvelope& envelope,
                                  Frames& frames, Frames& out) const
{
    const std::string requestId(frameView(frames[envelope.requestIdFrame]));
    const auto malformed = [&](std::string message) {
        rpc::appendErrorReply(
            out, requestId,
            {std::string(rpc::errortype::kMalformedRequest), std::move(message), {}});
    };

    msgpack::object_handle args;
    try {
        const auto& argsFrame = frames[envelope.argsFrame];
        args = msgpack::unpack(static_cast<const char*>(argsFrame.data()), argsFrame.size());
    } catch (const msgpack::unpack_error&) {
        malformed(std::string(service) + ": arguments are not valid msgpack");
        return;
    }
    const auto& array = args.get().via.array;

    if (service == kService) {
        if (array.size != 1 || array.ptr[0].type != msgpack::type::STR) {
            malformed("mmi.service takes one argument: the service name");
            return;
        }
        const auto& name = array.ptr[0].via.str;
        const bool known = hasLiveWorkers(m_registry, std::string_view(name.ptr, name.size));
        rpc::appendReply(out, frameOf(requestId), rpc::Status::Ok,
                         packed(std::string(known ? "200" : "404")));
    } else if (service == kServices) {
        std::vector<std::string> names;
        for (auto& [name, count] : m_registry.workerCounts()) {
            names.push_back(std::move(name));
        }
        rpc::appendReply(out, frameOf(requestId), rpc::Status::Ok, packed(names));
    } else if (service == kWorkers) {
        const auto counts = m_registry.workerCounts();
        rpc::appendReply(out, frameOf(requestId), rpc::Status::Ok,
                         packed(std::map<std::string, std::size_t>(counts.begin(), counts.end())));
    } else if (service == kCapacity) {
        msgpack::sbuffer buffer;
        msgpack::packer<msgpack::sbuffer> packer(buffer);
        const auto lines = capacities();
        packer.pack_map(static_cast<std::uint32_t>(lines.size()));
        for (const auto& [name, line] : lines) {
            packer.pack(name);
            packer.pack_map(4);
            packer.pack(std::string_view("workers")).pack(line.workers);
            packer.pack(std::string_view("capacity")).pack(line.capacity);
            packer.pack(std::string_view("inFlight")).pack(line.inFlight);
            packer.pack(std::string_view("queued")).pack(line.queued);
        }
        rpc::appendReply(out, frameOf(requestId), rpc::Status::Ok,
                         zmq::message_t(buffer.data(), buffer.size()));
    } else {
        rpc::appendErrorReply(out, requestId,
                              {std::string(rpc::errortype::kNotImplemented),
                               "no such MMI service: " + std::string(service), "501"});
    }
}

void MmiResponder::answerRaw(std::string_view service, Frames& frames, std::size_t bodyBegin,
                             Frames& out) const
{
    // RFC 8: the reply is the request body with its last frame replaced by the status code.
    const std::size_t last = frames.size() - 1;
    for (std::size_t i = bodyBegin; i < last; ++i) {
        out.push_back(std::move(frames[i]));
    }
    if (service == kService) {
        const bool known = hasLiveWorkers(m_registry, frameView(frames[last]));
        out.push_back(frameOf(known ? "200" : "404"));
    } else if (service == kServices) {
        out.push_back(frameOf("200"));
        for (const auto& [name, count] : m_registry.workerCounts()) {
            out.push_back(frameOf(name));
        }
    } else if (service == kWorkers) {
        out.push_back(frameOf("200"));
        for (const auto& [name, count] : m_registry.workerCounts()) {
            out.push_back(frameOf(name));
            out.push_back(frameOf(std::to_string(count)));
        }
    } else if (service == kCapacity) {
        out.push_back(frameOf("200"));
        for (const auto& [name, line] : capacities()) {
            out.push_back(frameOf(name));
            for (const std::size_t value :
                 {line.workers, line.capacity, line.inFlight, line.queued}) {
                out.push_back(frameOf(std::to_string(value)));
            }
        }
    } else {
        out.push_back(frameOf("501"));
    }
}

} // namespace switchboard
