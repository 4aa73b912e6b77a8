#pragma once

// Random and mutated multipart messages for tst_hostileinput: valid MDP client requests, worker
// commands and admin requests as templates, then truncated, flipped, dropped, duplicated, swapped
// or replaced frames, wrong headers, random lengths and random msgpack. Seeded, so a failing run
// can be repeated with the seed it printed.

#include "rawpeer.h"

#include <msgpack.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace switchboard::test {

class MessageForge {
public:
    // Frames stay below every socket's ZMQ_MAXMSGSIZE (the admin endpoint's is 64 KiB): libzmq
    // drops an oversized message with its connection before the broker sees it, so it could not
    // be counted.
    static constexpr std::size_t kMaxFrame = 32 * 1024;
    static constexpr std::size_t kMaxFrames = 48;

    explicit MessageForge(std::uint64_t seed)
        : m_random(seed)
    {}

    // What a DEALER sends the frontend.
    Message client()
    {
        Message message;
        switch (below(4)) {
        case 0:
            message = mdp01::request(service(), body());
            break;
        case 1:
        case 2:
            message = mdp02::request(service(), body());
            break;
        default: // a client sending a command only brokers send
            message = mdp02::request(service(), body());
            message[1] = std::string(1, static_cast<char>(2 + below(4)));
            break;
        }
        return finish(std::move(message));
    }

    // What a DEALER sends the backend. `clients` are identities replies may be addressed to.
    Message worker(const std::vector<std::string>& clients)
    {
        const std::string client = below(4) == 0 ? bytes(length()) : pick(clients);
        const Message answer{requestId(), below(3) == 0 ? kError : kOk, randomMsgpack(2)};
        Message message;
        switch (below(10)) {
        case 0:
        case 1:
            message = below(2) ? mdp02::ready(service()) : mdp01::ready(service());
            break;
        case 2:
            message = below(2) ? mdp02::heartbeat() : mdp01::heartbeat();
            break;
        case 3:
            message = below(2) ? mdp02::disconnect() : mdp01::disconnect();
            break;
        case 4:
            message = mdp01::reply(client, answer);
            break;
        case 5:
            message = mdp02::partial(client, answer);
            break;
        case 6:
        case 7:
            message = mdp02::final(client, answer);
            break;
        case 8: // a REQUEST, which only the broker sends
            message = mdp02::answer('\x02', client, answer);
            break;
        default: // a command byte neither RFC defines
            message = mdp02::answer(static_cast<char>(7 + below(249)), client, answer);
            break;
        }
        return finish(std::move(message));
    }

    // What a DEALER (or, with an empty delimiter first, a REQ) sends the admin endpoint.
    // `workers` are identities an evict may name.
    Message admin(const std::vector<std::string>& workers)
    {
        Message message{"SBADM1", requestId()};
        switch (below(5)) {
        case 0:
            message.push_back("snapshot");
            message.push_back("\x80");
            break;
        case 1:
        case 2: {
            message.push_back("evict");
            msgpack::sbuffer buffer;
            msgpack::packer<msgpack::sbuffer> packer(buffer);
            packer.pack_map(1);
            packer.pack(std::string("identity"));
            packer.pack(below(3) == 0 ? bytes(length()) : pick(workers));
            message.emplace_back(buffer.data(), buffer.size());
            break;
        }
        case 3:
            message.push_back(pick(kUnknownCommands));
            message.push_back("\x80");
            break;
        default: // args that are not a map
            message.push_back(below(2) ? "snapshot" : "evict");
            message.push_back(randomMsgpack(2));
            break;
        }
        if (below(4) == 0) {
            message.insert(message.begin(), std::string());
        }
        return finish(std::move(message));
    }

    std::uint64_t below(std::uint64_t bound)
    {
        return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(m_random);
    }

private:
    inline static const std::vector<std::string> kServices{
        "echo",        "junk",         "svc-0",    "svc-1",    "svc-2", "svc-3",
        "mmi.service", "mmi.services", "mmi.echo", "mmi.nope", "",      std::string(300, 's')};
    inline static const std::vector<std::string> kMethods{"echo", "sum", "", "x", "reindex"};
    inline static const std::vector<std::string> kHeaders{
        "MDPC01", "MDPC02", "MDPW01", "MDPW02", "SBADM1", "MDPC03", "mdpc02", "", "MDP", "SBADM2"};
    inline static const std::vector<std::string> kUnknownCommands{
        "stats", "shutdown", "", std::string(65, 'c'), "snapshot\x01", "EVICT"};

    template <typename T>
    const T& pick(const std::vector<T>& values)
    {
        return values[below(values.size())];
    }

    // Mostly short, sometimes empty, now and then large.
    std::size_t length()
    {
        const auto roll = below(100);
        if (roll < 40) {
            return below(9);
        }
        if (roll < 75) {
            return 9 + below(56);
        }
        if (roll < 95) {
            return 65 + below(960);
        }
        if (roll < 99) {
            return 1025 + below(7168);
        }
        return 8193 + below(kMaxFrame - 8192);
    }

    // Cut from a pool of random bytes made once: drawing each byte of a million messages from
    // the generator would make the test, not the broker, the bottleneck.
    std::string bytes(std::size_t size)
    {
        if (m_pool.empty()) {
            m_pool.resize(2 * kMaxFrame);
            for (std::size_t i = 0; i < m_pool.size(); i += sizeof(std::uint64_t)) {
                const std::uint64_t word = m_random();
                std::memcpy(m_pool.data() + i, &word, sizeof word);
            }
        }
        std::string text = m_pool.substr(below(m_pool.size() - size + 1), size);
        if (!text.empty()) {
            text[0] = static_cast<char>(m_random()); // not always the same first byte
        }
        return text;
    }

    std::string service() { return below(8) == 0 ? bytes(length() % 300) : pick(kServices); }

    std::string requestId() { return below(8) == 0 ? bytes(length() % 300) : "id-" + bytes(4); }

    Message body()
    {
        Message body{requestId(), below(6) == 0 ? bytes(length() % 200) : pick(kMethods),
                     randomMsgpack(3)};
        if (below(5) == 0) {
            body.push_back(randomMsgpack(1)); // an options frame, or one more
        }
        return body;
    }

    // A msgpack value of random shape, or one whose header promises more than follows.
    std::string randomMsgpack(int depth)
    {
        msgpack::sbuffer buffer;
        msgpack::packer<msgpack::sbuffer> packer(buffer);
        if (below(10) == 0) {
            static const std::array<std::string, 6> kForged{
                std::string("\xdd\xff\xff\xff\xff", 5),
                std::string("\xdf\x7f\xff\xff\xff", 5),
                std::string("\xdb\xff\xff\xff\xf0"
                            "abc",
                            8),
                std::string("\xc6\x10\x00\x00\x00", 5),
                std::string("\xc1"),
                std::string("\x92\x91\x91\x91\x91\x91\x91", 7)};
            return kForged[below(kForged.size())] + bytes(below(16));
        }
        packValue(packer, depth);
        return std::string(buffer.data(), buffer.size());
    }

    void packValue(msgpack::packer<msgpack::sbuffer>& packer, int depth)
    {
        switch (below(depth > 0 ? 9 : 7)) {
        case 0:
            packer.pack_nil();
            break;
        case 1:
            packer.pack(below(2) == 0);
            break;
        case 2:
            packer.pack(static_cast<std::int64_t>(m_random()));
            break;
        case 3:
            packer.pack(static_cast<double>(m_random()) / 7.0);
            break;
        case 4:
            packer.pack(bytes(below(40)));
            break;
        case 5: {
            const auto data = bytes(below(40));
            packer.pack_bin(static_cast<std::uint32_t>(data.size()));
            packer.pack_bin_body(data.data(), static_cast<std::uint32_t>(data.size()));
            break;
        }
        case 6:
            packer.pack(static_cast<std::uint64_t>(below(1000)));
            break;
        case 7: {
            const auto size = static_cast<std::uint32_t>(below(6));
            packer.pack_array(size);
            for (std::uint32_t i = 0; i < size; ++i) {
                packValue(packer, depth - 1);
            }
            break;
        }
        default: {
            const auto size = static_cast<std::uint32_t>(below(4));
            packer.pack_map(size);
            for (std::uint32_t i = 0; i < 2 * size; ++i) {
                packValue(packer, depth - 1);
            }
            break;
        }
        }
    }

    // One template in ten goes out as it is; one message in twenty is noise from the start.
    Message finish(Message message)
    {
        const auto roll = below(20);
        if (roll == 0) {
            Message noise(1 + below(12));
            for (auto& frame : noise) {
                frame = below(3) == 0 ? randomMsgpack(2) : bytes(length());
            }
            return noise;
        }
        if (roll <= 2) {
            return message;
        }
        for (auto mutations = 1 + below(3); mutations > 0; --mutations) {
            mutate(message);
        }
        return message;
    }

    void mutate(Message& message)
    {
        auto& frame = message[below(message.size())];
        switch (below(12)) {
        case 0: // truncate
            frame.resize(frame.empty() ? 0 : below(frame.size()));
            break;
        case 1: // flip a few bytes
            for (auto flips = 1 + below(4); flips > 0 && !frame.empty(); --flips) {
                frame[below(frame.size())] ^= static_cast<char>(1 + below(255));
            }
            break;
        case 2: // drop a frame
            if (message.size() > 1) {
                message.erase(message.begin() + static_cast<std::ptrdiff_t>(below(message.size())));
            }
            break;
        case 3: // duplicate a frame
            if (message.size() < kMaxFrames) {
                const auto at = below(message.size());
                message.insert(message.begin() + static_cast<std::ptrdiff_t>(at), message[at]);
            }
            break;
        case 4: // insert a random frame
            if (message.size() < kMaxFrames) {
                message.insert(message.begin() +
                                   static_cast<std::ptrdiff_t>(below(message.size() + 1)),
                               bytes(length()));
            }
            break;
        case 5: // swap two frames
            std::swap(frame, message[below(message.size())]);
            break;
        case 6:
            frame = randomMsgpack(3);
            break;
        case 7: // a wrong or misplaced header
            message[below(std::min<std::size_t>(2, message.size()))] = pick(kHeaders);
            break;
        case 8: // a command byte out of place
            if (message.size() > 1) {
                message[1] = bytes(below(3));
            }
            break;
        case 9: // valid-looking header, garbage after it
            frame = bytes(length());
            break;
        case 10:
            frame.clear();
            break;
        default: // many empty frames
            for (auto extra = below(24); extra > 0 && message.size() < kMaxFrames; --extra) {
                message.emplace_back();
            }
            break;
        }
    }

    std::mt19937_64 m_random;
    std::string m_pool;
};

} // namespace switchboard::test
