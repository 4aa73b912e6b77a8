// PackedFrames: a waiting request's frames in one block. Sizes are varints, so the header of a
// typical request is one byte per frame.

#include <switchboard/routing/packedframes.h>

#include <cstdint>
#include <cstring>

namespace switchboard {

namespace {

std::size_t varintSize(std::uint64_t value) noexcept
{
    std::size_t size = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++size;
    }
    return size;
}

std::byte* writeVarint(std::byte* out, std::uint64_t value) noexcept
{
    while (value >= 0x80) {
        *out++ = static_cast<std::byte>((value & 0x7f) | 0x80);
        value >>= 7;
    }
    *out++ = static_cast<std::byte>(value);
    return out;
}

const std::byte* readVarint(const std::byte* in, std::uint64_t& value) noexcept
{
    value = 0;
    for (int shift = 0;; shift += 7) {
        const auto byte = static_cast<std::uint64_t>(*in++);
        value |= (byte & 0x7f) << shift;
        if (byte < 0x80) {
            return in;
        }
    }
}

} // namespace

PackedFrames::PackedFrames(Frames& frames)
{
    std::size_t header = sizeof(std::uint32_t);
    std::size_t copied = 0;
    std::size_t kept = 0;
    for (const zmq::message_t& frame : frames) {
        if (frame.size() > kMaxCopied) {
            header += 1;
            ++kept;
        } else {
            header += varintSize(frame.size() << 1);
            copied += frame.size();
        }
    }
    m_block = std::make_unique_for_overwrite<std::byte[]>(header + copied);
    const auto count = static_cast<std::uint32_t>(frames.size());
    std::memcpy(m_block.get(), &count, sizeof count);
    std::byte* size = m_block.get() + sizeof count;
    std::byte* bytes = m_block.get() + header;
    if (kept != 0) {
        m_kept = std::make_unique<Frames>();
        m_kept->reserve(kept);
    }
    for (zmq::message_t& frame : frames) {
        if (frame.size() > kMaxCopied) {
            size = writeVarint(size, 1);
            m_kept->push_back(std::move(frame));
        } else {
            size = writeVarint(size, frame.size() << 1);
            if (frame.size() != 0) {
                std::memcpy(bytes, frame.data(), frame.size());
                bytes += frame.size();
            }
        }
    }
}

Frames PackedFrames::unpack()
{
    std::uint32_t count = 0;
    std::memcpy(&count, m_block.get(), sizeof count);
    const std::byte* size = m_block.get() + sizeof count;
    // The bytes begin after the list of sizes, which is read once to find its end.
    const std::byte* bytes = size;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint64_t value = 0;
        bytes = readVarint(bytes, value);
    }
    Frames frames;
    frames.reserve(count);
    std::size_t nextKept = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint64_t value = 0;
        size = readVarint(size, value);
        if (value & 1) {
            frames.push_back(std::move((*m_kept)[nextKept++]));
        } else {
            const auto length = static_cast<std::size_t>(value >> 1);
            frames.emplace_back(bytes, length);
            bytes += length;
        }
    }
    m_block.reset();
    m_kept.reset();
    return frames;
}

} // namespace switchboard
