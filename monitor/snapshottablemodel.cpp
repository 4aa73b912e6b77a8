#include "snapshottablemodel.h"

#include "units.h"

#include <QBrush>
#include <QColor>

namespace switchboard {

CellValue countCell(std::uint64_t count)
{
    return {units::count(count), static_cast<qulonglong>(count)};
}

CellValue rateCell(double perSecond)
{
    return {units::rate(perSecond), perSecond};
}

QVariant staleForeground()
{
    return QBrush(QColor(0x9e, 0x9e, 0x9e));
}

QVariant staleBackground()
{
    return QBrush(QColor(0xee, 0xee, 0xee));
}

} // namespace switchboard
