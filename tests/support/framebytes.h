#pragma once

// Frames spelled out as byte strings, for the codec tests: cases write every frame by hand
// rather than build it with the library's builders, so they check the wire format instead of
// agreeing with the code under test.

#include <switchboard/protocol/frames.h>

#include <QByteArray>
#include <QByteArrayList>
#include <QString>

#include <string_view>

namespace switchboard::test {

inline Frames toFrames(const QByteArrayList& list)
{
    Frames frames;
    frames.reserve(static_cast<std::size_t>(list.size()));
    for (const QByteArray& bytes : list) {
        frames.emplace_back(bytes.constData(), static_cast<std::size_t>(bytes.size()));
    }
    return frames;
}

inline QByteArrayList toList(const Frames& frames)
{
    QByteArrayList list;
    for (const zmq::message_t& frame : frames) {
        list.append(QByteArray(frame.data<char>(), static_cast<qsizetype>(frame.size())));
    }
    return list;
}

inline QString text(std::string_view view)
{
    return QString::fromUtf8(view.data(), static_cast<qsizetype>(view.size()));
}

// Enums are compared by name, so a failure prints "too_few_frames"-style labels, not numbers.
template <typename Enum>
QString name(Enum value)
{
    return text(toString(value));
}

} // namespace switchboard::test
