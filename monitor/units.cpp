#include "units.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace switchboard::units {

namespace {

// Three significant digits, truncated rather than rounded so that 999.7 ms never reads "1000 ms"
// next to the unit it should have moved to.
QString threeDigits(double value)
{
    const int decimals = value < 10 ? 2 : value < 100 ? 1 : 0;
    const double scale = std::pow(10.0, decimals);
    return QString::number(std::floor(value * scale + 1e-9) / scale, 'f', decimals);
}

QString minutesAndSeconds(std::int64_t seconds)
{
    return QStringLiteral("%1 min %2 s")
        .arg(seconds / 60)
        .arg(seconds % 60, 2, 10, QLatin1Char('0'));
}

} // namespace

QString fromMicroseconds(std::uint64_t us)
{
    if (us < 1000) {
        return QStringLiteral("%1 µs").arg(us);
    }
    if (us < 1'000'000) {
        return threeDigits(static_cast<double>(us) / 1e3) + QStringLiteral(" ms");
    }
    return fromMilliseconds(static_cast<std::int64_t>(us / 1000));
}

QString fromMilliseconds(std::int64_t ms)
{
    if (ms < 0) {
        ms = 0; // clocks of two machines: an age is never negative to the operator
    }
    if (ms < 1000) {
        return QStringLiteral("%1 ms").arg(ms);
    }
    if (ms < 60'000) {
        return threeDigits(static_cast<double>(ms) / 1e3) + QStringLiteral(" s");
    }
    return span(ms);
}

QString span(std::int64_t ms)
{
    const std::int64_t seconds = std::max<std::int64_t>(ms, 0) / 1000;
    if (seconds < 60) {
        return QStringLiteral("%1 s").arg(seconds);
    }
    if (seconds < 3600) {
        return minutesAndSeconds(seconds);
    }
    if (seconds < 86400) {
        return QStringLiteral("%1 h %2 min")
            .arg(seconds / 3600)
            .arg(seconds % 3600 / 60, 2, 10, QLatin1Char('0'));
    }
    return QStringLiteral("%1 d %2 h")
        .arg(seconds / 86400)
        .arg(seconds % 86400 / 3600, 2, 10, QLatin1Char('0'));
}

QString rate(double perSecond)
{
    if (perSecond <= 0) {
        return QStringLiteral("0");
    }
    if (perSecond >= 1000) {
        return count(static_cast<std::uint64_t>(std::llround(perSecond)));
    }
    return threeDigits(perSecond);
}

QString count(std::uint64_t n)
{
    // The C locale groups nothing, so the separator is added here for every locale alike.
    QString digits = QString::number(n);
    for (qsizetype at = digits.size() - 3; at > 0; at -= 3) {
        digits.insert(at, QLatin1Char(','));
    }
    return digits;
}

QString bytes(std::uint64_t n)
{
    if (n < 1024) {
        return QStringLiteral("%1 B").arg(n);
    }
    static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(n) / 1024;
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(kUnits)) {
        value /= 1024;
        ++unit;
    }
    return threeDigits(value) + QLatin1Char(' ') + QLatin1String(kUnits[unit]);
}

} // namespace switchboard::units
