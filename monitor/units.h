#pragma once

#include <QString>

#include <cstdint>

// Numbers as an operator reads them at a glance: three significant digits and the unit that
// keeps them between 1 and 1000, so a column of latencies can be compared without counting digits.
namespace switchboard::units {

// 850 µs, 12.3 ms, 1.50 s, 2 min 05 s.
QString fromMicroseconds(std::uint64_t us);
// 350 ms, 2.10 s, 3 min 05 s, 2 h 03 min.
QString fromMilliseconds(std::int64_t ms);
// Uptime and other long spans: 45 s, 3 min 05 s, 2 h 03 min, 4 d 02 h.
QString span(std::int64_t ms);
// 0, 0.25, 12.5, 1,250 (per second; the header carries the unit).
QString rate(double perSecond);
// 1,234,567.
QString count(std::uint64_t n);
// 512 B, 12.3 KiB, 64.0 MiB, 1.50 GiB.
QString bytes(std::uint64_t n);

} // namespace switchboard::units
