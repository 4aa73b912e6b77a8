#pragma once

#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

// How a fuzz input becomes a multipart message, and the frame comparisons the targets share.
namespace switchboard::fuzz {

// The input framing (docs/FUZZING.md): the input is a sequence of frames, each
//   len:u8 bytes[len]                   when len < 0xff
//   0xff len:u16-big-endian bytes[len]  for longer frames (255-byte names, str16 payloads)
// up to the end of the input. A frame whose length runs past the end gets the bytes that are
// left, and a lone 0xff (or 0xff plus one byte) is an empty frame, so every input is a message
// and the fuzzer is free to explore frame counts and sizes. fuzz/generate_corpus.py writes it.
inline Frames inputFrames(const std::uint8_t* data, std::size_t size)
{
    Frames frames;
    std::size_t at = 0;
    while (at < size) {
        std::size_t length = data[at++];
        if (length == 0xff) {
            length = 0;
            for (int i = 0; i < 2 && at < size; ++i) {
                length = (length << 8) | data[at++];
            }
        }
        const std::size_t available = size - at;
        const std::size_t taken = length < available ? length : available;
        frames.emplace_back(data + at, taken);
        at += taken;
    }
    return frames;
}

// Copies of frames[begin...], for the builders, which take their body by value.
inline Frames copyFrames(const Frames& frames, std::size_t begin)
{
    Frames copy;
    for (std::size_t i = begin; i < frames.size(); ++i) {
        copy.emplace_back(frames[i].data(), frames[i].size());
    }
    return copy;
}

// Whether frames[begin...] are byte for byte the frames of `expected`.
inline bool sameFrames(const Frames& frames, std::size_t begin, const Frames& expected)
{
    if (begin > frames.size() || frames.size() - begin != expected.size()) {
        return false;
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (frameView(frames[begin + i]) != frameView(expected[i])) {
            return false;
        }
    }
    return true;
}

} // namespace switchboard::fuzz
