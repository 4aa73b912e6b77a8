#include "jsonmsgpack.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdint>
#include <limits>

namespace switchboard::jsonmsgpack {

namespace {

void packString(msgpack::packer<msgpack::sbuffer>& packer, const QString& text)
{
    const QByteArray utf8 = text.toUtf8();
    packer.pack_str(static_cast<std::uint32_t>(utf8.size()));
    packer.pack_str_body(utf8.constData(), static_cast<std::uint32_t>(utf8.size()));
}

QString base64(const char* data, std::uint32_t size)
{
    return QString::fromLatin1(QByteArray(data, static_cast<qsizetype>(size)).toBase64());
}

QString keyText(const msgpack::object& key)
{
    if (key.type == msgpack::type::STR) {
        return QString::fromUtf8(key.via.str.ptr, static_cast<qsizetype>(key.via.str.size));
    }
    return format(toJson(key), true);
}

} // namespace

void packJson(msgpack::packer<msgpack::sbuffer>& packer, const QJsonValue& value)
{
    switch (value.type()) {
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        packer.pack_nil();
        return;
    case QJsonValue::Bool:
        packer.pack(value.toBool());
        return;
    case QJsonValue::Double:
        // Qt keeps numbers written without a fraction ("2", "1e3") as integers, so a worker
        // expecting an int gets one.
        if (value.toVariant().typeId() == QMetaType::LongLong) {
            packer.pack(static_cast<std::int64_t>(value.toInteger()));
        } else {
            packer.pack(value.toDouble());
        }
        return;
    case QJsonValue::String:
        packString(packer, value.toString());
        return;
    case QJsonValue::Array: {
        const QJsonArray array = value.toArray();
        packer.pack_array(static_cast<std::uint32_t>(array.size()));
        for (const auto& element : array) {
            packJson(packer, QJsonValue(element));
        }
        return;
    }
    case QJsonValue::Object: {
        const QJsonObject object = value.toObject();
        packer.pack_map(static_cast<std::uint32_t>(object.size()));
        for (auto it = object.begin(); it != object.end(); ++it) {
            packString(packer, it.key());
            packJson(packer, it.value());
        }
        return;
    }
    }
}

QJsonValue toJson(const msgpack::object& object)
{
    switch (object.type) {
    case msgpack::type::NIL:
        return QJsonValue(QJsonValue::Null);
    case msgpack::type::BOOLEAN:
        return object.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
        if (object.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<qint64>::max())) {
            return static_cast<double>(object.via.u64);
        }
        return static_cast<qint64>(object.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
        return static_cast<qint64>(object.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
        return object.via.f64;
    case msgpack::type::STR:
        return QString::fromUtf8(object.via.str.ptr, static_cast<qsizetype>(object.via.str.size));
    case msgpack::type::BIN:
        return base64(object.via.bin.ptr, object.via.bin.size);
    case msgpack::type::EXT:
        return base64(object.via.ext.ptr, object.via.ext.size);
    case msgpack::type::ARRAY: {
        QJsonArray array;
        for (std::uint32_t i = 0; i < object.via.array.size; ++i) {
            array.append(toJson(object.via.array.ptr[i]));
        }
        return array;
    }
    case msgpack::type::MAP: {
        QJsonObject map;
        for (std::uint32_t i = 0; i < object.via.map.size; ++i) {
            const auto& entry = object.via.map.ptr[i];
            map.insert(keyText(entry.key), toJson(entry.val));
        }
        return map;
    }
    }
    return QJsonValue(QJsonValue::Null);
}

QJsonValue parseArgument(const QString& text)
{
    // QJsonDocument only parses arrays and objects at the top, so parse the value inside one.
    QJsonParseError error{};
    const QJsonDocument document =
        QJsonDocument::fromJson(QByteArray("[") + text.toUtf8() + QByteArray("]"), &error);
    if (error.error == QJsonParseError::NoError && document.array().size() == 1) {
        return document.array().first();
    }
    return text;
}

QString format(const QJsonValue& value, bool compact)
{
    const auto style = compact ? QJsonDocument::Compact : QJsonDocument::Indented;
    if (value.isArray()) {
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(style)).trimmed();
    }
    if (value.isObject()) {
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(style)).trimmed();
    }
    // A scalar: print it as the single element of a compact array, without the brackets.
    const QByteArray text = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(text.mid(1, text.size() - 2));
}

} // namespace switchboard::jsonmsgpack
