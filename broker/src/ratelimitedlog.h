#pragma once

#include <chrono>
#include <cstdint>

namespace switchboard {

// Decides whether a repeated warning may be logged now: at most `perSecond` a second, and the
// caller learns how many were held back so the next line can say so. A peer that floods the
// broker with garbage must not also flood the log.
class RateLimitedLog {
public:
    explicit RateLimitedLog(int perSecond = 5)
        : m_perSecond(perSecond)
    {}

    // True if this occurrence may be logged; `suppressed` is then the number dropped since the
    // last one that was.
    bool admit(std::uint64_t& suppressed)
    {
        const auto now = std::chrono::steady_clock::now();
        if (now - m_windowStart >= std::chrono::seconds(1)) {
            m_windowStart = now;
            m_inWindow = 0;
        }
        if (m_inWindow >= m_perSecond) {
            ++m_suppressed;
            return false;
        }
        ++m_inWindow;
        suppressed = m_suppressed;
        m_suppressed = 0;
        return true;
    }

private:
    int m_perSecond;
    int m_inWindow = 0;
    std::uint64_t m_suppressed = 0;
    std::chrono::steady_clock::time_point m_windowStart{};
};

} // namespace switchboard
