#include <switchboard/protocol/polluntil.h>

#include <cerrno>

namespace switchboard {

int pollUntil(zmq::pollitem_t* items, int count, std::chrono::steady_clock::time_point until)
{
    using Clock = std::chrono::steady_clock;
    for (;;) {
        long timeoutMs = -1; // for ever
        if (until != Clock::time_point::max()) {
            const auto left = until - Clock::now();
            // Round up: zmq_poll with a rounded-down timeout would wake before `until` and spin.
            timeoutMs =
                left > Clock::duration::zero()
                    ? static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(left).count())
                    : 0;
        }
        const int ready = zmq_poll(items, count, timeoutMs);
        if (ready > 0 || (ready == 0 && Clock::now() >= until)) {
            return ready;
        }
        if (ready < 0 && zmq_errno() != EINTR) {
            throw zmq::error_t();
        }
    }
}

} // namespace switchboard
