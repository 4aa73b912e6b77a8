#pragma once

#include <zmq.hpp>

#include <chrono>

namespace switchboard {

// zmq_poll(items, count) until something is ready or `until` has passed: a signal (EINTR) or a
// wake-up before `until` with nothing ready polls again for the time left, so callers never
// see either. time_point::max() waits for ever. Returns the number of items ready (their
// revents set), 0 only once `until` has passed. Throws zmq::error_t for anything else (ETERM
// when the context ends, ENOTSOCK).
int pollUntil(zmq::pollitem_t* items, int count, std::chrono::steady_clock::time_point until);

} // namespace switchboard
