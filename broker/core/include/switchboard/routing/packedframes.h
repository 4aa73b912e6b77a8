#pragma once

#include <switchboard/protocol/frames.h>

#include <cstddef>
#include <memory>

namespace switchboard {

// The frames of a request while it waits, packed: the bytes of the small frames in one
// allocation of about their size, with the large frames beside them as they came.
//
// Held as zmq::message_t, a waiting 64-byte request costs many times its bytes: each frame is a
// 64-byte zmq_msg_t in a vector of its own, and a frame of more than 33 bytes that libzmq's
// zero-copy decoder produced points into the receive buffer it arrived in (8 KiB and the
// buffer's reference counts), which stays allocated for as long as any message from it lives.
// A long queue of small requests then holds a receive buffer for every few of them.
class PackedFrames {
public:
    // Frames up to this size are copied. Larger ones are kept as they are: libzmq decodes a
    // message that does not fit its 8 KiB receive buffer (ZMQ_IN_BATCH_SIZE) into an allocation
    // of its own, so a copy would cost time and save nothing.
    static constexpr std::size_t kMaxCopied = 8192;

    PackedFrames() = default;
    // Copies the small frames of `frames` and moves the large ones (they are left empty).
    explicit PackedFrames(Frames& frames);

    bool empty() const noexcept { return m_block == nullptr; }
    // The frames again, byte for byte and in order. The pack is empty afterwards.
    Frames unpack();

private:
    // The block: the number of frames (4 bytes), then per frame a varint, (size << 1) for a
    // copied frame and 1 for a kept one, then the bytes of the copied frames.
    std::unique_ptr<std::byte[]> m_block;
    std::unique_ptr<Frames> m_kept; // the large frames, in order; null when there are none
};

} // namespace switchboard
