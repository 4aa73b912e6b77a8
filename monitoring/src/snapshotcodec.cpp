#include <switchboard/monitoring/snapshotcodec.h>

#include <switchboard/protocol/payload.h>

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

namespace switchboard::snapshotcodec {

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

// What the codec knows of a type, from the records' fields() alone.
template <typename T>
concept Record = requires(T& record)
{
    T::fields(record, [](std::string_view, auto&, Presence = Presence::Required) {});
};

template <typename T>
constexpr bool isPositional()
{
    if constexpr (requires { T::kPositional; }) {
        return T::kPositional;
    } else {
        return false;
    }
}

template <typename T>
struct IsRows : std::false_type {};
template <typename T>
struct IsRows<QVector<T>> : std::true_type {};

template <typename Enum>
concept WireEnum = std::is_enum_v<Enum> && requires(Enum value)
{
    wireNames(value);
};

// Every name table covers its enumeration, in declaration order.
static_assert(kWorkerStateNames.size() ==
              static_cast<std::size_t>(WorkerStats::State::Expired) + 1);
static_assert(kEventKindNames.size() ==
              static_cast<std::size_t>(BrokerEvent::Kind::RepliesDropped) + 1);

// An event of a kind this reader does not know: its row is skipped (a broker may add kinds
// within a format). Caught by the rows that hold it; never leaves decode().
struct UnknownEventKind {};

template <Record T>
std::uint32_t fieldCount()
{
    std::uint32_t count = 0;
    T record{};
    T::fields(record, [&](std::string_view, auto&, Presence = Presence::Required) { ++count; });
    return count;
}

[[noreturn]] void fail(const std::string& text)
{
    throw ProtocolError(ProtocolErrorKind::InvalidPayload, "snapshot: " + text);
}

[[noreturn]] void wrongType(const std::string& path, const msgpack::object& value,
                            std::string_view expected)
{
    fail(path + " is " + std::string(rpc::describeType(value.type)) + ", expected " +
         std::string(expected));
}

// ----------------------------------------------------------------------------------------------
// Encoding

void packText(Packer& packer, std::string_view text)
{
    packer.pack_str(static_cast<std::uint32_t>(text.size()));
    packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

template <typename T>
void write(Packer& packer, const T& value);

template <Record T>
void writeFields(Packer& packer, const T& record)
{
    T::fields(record, [&](std::string_view key, const auto& member, Presence = Presence::Required) {
        if constexpr (!isPositional<T>()) {
            packText(packer, key);
        }
        write(packer, member);
    });
}

template <typename T>
void write(Packer& packer, const T& value)
{
    if constexpr (Record<T>) {
        if constexpr (isPositional<T>()) {
            packer.pack_array(fieldCount<T>());
        } else {
            packer.pack_map(fieldCount<T>());
        }
        writeFields(packer, value);
    } else if constexpr (IsRows<T>::value || std::is_same_v<T, QStringList>) {
        packer.pack_array(static_cast<std::uint32_t>(value.size()));
        for (const auto& row : value) {
            write(packer, row);
        }
    } else if constexpr (std::is_same_v<T, QString>) {
        const QByteArray utf8 = value.toUtf8();
        packText(packer, std::string_view(utf8.constData(), static_cast<std::size_t>(utf8.size())));
    } else if constexpr (std::is_same_v<T, QByteArray>) {
        packer.pack_bin(static_cast<std::uint32_t>(value.size()));
        packer.pack_bin_body(value.constData(), static_cast<std::uint32_t>(value.size()));
    } else if constexpr (WireEnum<T>) {
        const auto& names = wireNames(value);
        const auto index = static_cast<std::size_t>(value);
        packText(packer, index < names.size() ? names[index] : names[0]);
    } else if constexpr (std::is_same_v<T, double>) {
        packer.pack_double(value);
    } else {
        static_assert(std::is_integral_v<T>, "a snapshot field of a type the codec cannot write");
        packer.pack(value);
    }
}

// ----------------------------------------------------------------------------------------------
// Decoding

const msgpack::object* find(const msgpack::object_map& map, std::string_view key) noexcept
{
    for (std::uint32_t i = 0; i < map.size; ++i) {
        const msgpack::object& candidate = map.ptr[i].key;
        if (candidate.type == msgpack::type::STR &&
            std::string_view(candidate.via.str.ptr, candidate.via.str.size) == key) {
            return &map.ptr[i].val;
        }
    }
    return nullptr;
}

QString textOf(const msgpack::object& value)
{
    return QString::fromUtf8(value.via.str.ptr, static_cast<qsizetype>(value.via.str.size));
}

template <typename T>
void read(const msgpack::object& value, T& out, const std::string& path);

template <Record T>
void readFields(const msgpack::object& value, T& record, const std::string& path)
{
    if constexpr (isPositional<T>()) {
        const std::uint32_t count = fieldCount<T>();
        if (value.type != msgpack::type::ARRAY || value.via.array.size != count) {
            fail(path + " must be an array of " + std::to_string(count) + " values");
        }
        std::uint32_t index = 0;
        T::fields(record, [&](std::string_view key, auto& member, Presence = Presence::Required) {
            read(value.via.array.ptr[index++], member, path + "." + std::string(key));
        });
    } else {
        if (value.type != msgpack::type::MAP) {
            wrongType(path, value, "a map");
        }
        T::fields(record,
                  [&](std::string_view key, auto& member, Presence presence = Presence::Required) {
                      const std::string memberPath = path + "." + std::string(key);
                      if (const msgpack::object* found = find(value.via.map, key)) {
                          read(*found, member, memberPath);
                      } else if (presence == Presence::Required) {
                          fail(path + " has no \"" + std::string(key) + "\"");
                      }
                  });
    }
}

std::int64_t readInt64(const msgpack::object& value, const std::string& path)
{
    if (value.type == msgpack::type::NEGATIVE_INTEGER) {
        return value.via.i64;
    }
    if (value.type != msgpack::type::POSITIVE_INTEGER ||
        value.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        wrongType(path, value, "an integer");
    }
    return static_cast<std::int64_t>(value.via.u64);
}

template <typename T>
void read(const msgpack::object& value, T& out, const std::string& path)
{
    if constexpr (Record<T>) {
        readFields(value, out, path);
    } else if constexpr (IsRows<T>::value || std::is_same_v<T, QStringList>) {
        if (value.type != msgpack::type::ARRAY) {
            wrongType(path, value, "an array");
        }
        const msgpack::object_array& items = value.via.array;
        out.clear();
        out.reserve(static_cast<qsizetype>(items.size));
        for (std::uint32_t i = 0; i < items.size; ++i) {
            typename T::value_type row{};
            try {
                read(items.ptr[i], row, path + "[" + std::to_string(i) + "]");
            } catch (const UnknownEventKind&) {
                continue;
            }
            out.push_back(std::move(row));
        }
    } else if constexpr (std::is_same_v<T, QString>) {
        if (value.type != msgpack::type::STR) {
            wrongType(path, value, "a string");
        }
        out = textOf(value);
    } else if constexpr (std::is_same_v<T, QByteArray>) {
        if (value.type != msgpack::type::BIN) {
            wrongType(path, value, "binary");
        }
        out = QByteArray(value.via.bin.ptr, static_cast<qsizetype>(value.via.bin.size));
    } else if constexpr (WireEnum<T>) {
        if (value.type != msgpack::type::STR) {
            wrongType(path, value, "a string");
        }
        const std::string_view name(value.via.str.ptr, value.via.str.size);
        const auto& names = wireNames(out);
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (names[i] == name) {
                out = static_cast<T>(i);
                return;
            }
        }
        if constexpr (std::is_same_v<T, BrokerEvent::Kind>) {
            throw UnknownEventKind{};
        }
        std::string printable(name.substr(0, 64)); // hostile bytes stay out of the log
        std::replace_if(
            printable.begin(), printable.end(),
            [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c < 0; }, '?');
        fail(path + " is unknown: " + printable);
    } else if constexpr (std::is_same_v<T, double>) {
        switch (value.type) {
        case msgpack::type::FLOAT32:
        case msgpack::type::FLOAT64:
            out = value.via.f64;
            return;
        case msgpack::type::POSITIVE_INTEGER:
            out = static_cast<double>(value.via.u64);
            return;
        case msgpack::type::NEGATIVE_INTEGER:
            out = static_cast<double>(value.via.i64);
            return;
        default:
            wrongType(path, value, "a number");
        }
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        if (value.type != msgpack::type::POSITIVE_INTEGER) {
            wrongType(path, value, "an unsigned integer");
        }
        out = value.via.u64;
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        out = readInt64(value, path);
    } else {
        static_assert(std::is_same_v<T, int>, "a snapshot field of a type the codec cannot read");
        const std::int64_t wide = readInt64(value, path);
        if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
            fail(path + " is out of range");
        }
        out = static_cast<int>(wide);
    }
}

std::optional<std::uint64_t> formatOf(const msgpack::object_map& map) noexcept
{
    const msgpack::object* format = find(map, "format");
    if (!format) {
        return 1;
    }
    if (format->type != msgpack::type::POSITIVE_INTEGER) {
        return std::nullopt;
    }
    return format->via.u64;
}

} // namespace

IncompatibleFormat::IncompatibleFormat(std::uint64_t brokerFormat, std::uint64_t readerFormat)
    : ProtocolError(ProtocolErrorKind::InvalidPayload,
                    "incompatible broker version: the broker's snapshots are in format " +
                        std::to_string(brokerFormat) + ", this monitor reads format " +
                        std::to_string(readerFormat) + "; use a monitor of the broker's release")
    , m_brokerFormat(brokerFormat)
    , m_readerFormat(readerFormat)
{}

std::string encode(const BrokerSnapshot& snapshot)
{
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_map(fieldCount<BrokerSnapshot>() + 1);
    packText(packer, "format");
    packer.pack(kFormat);
    writeFields(packer, snapshot);
    return std::string(buffer.data(), buffer.size());
}

BrokerSnapshot decode(std::string_view bytes)
{
    return decode(zmq::message_t(bytes.data(), bytes.size()));
}

BrokerSnapshot decode(const zmq::message_t& frame)
{
    // unpackPayload walks the bytes before unpacking, so a forged array header cannot make
    // msgpack reserve gigabytes (see protocol/src/envelope.cpp).
    const msgpack::object_handle handle = rpc::unpackPayload(frame, "snapshot");
    const msgpack::object& root = handle.get();
    if (root.type != msgpack::type::MAP) {
        wrongType("snapshot", root, "a map");
    }
    // The format before anything else: another layout's keys would only give misleading errors.
    const std::optional<std::uint64_t> format = formatOf(root.via.map);
    if (!format) {
        fail("\"format\" must be an unsigned integer");
    }
    if (*format != kFormat) {
        throw IncompatibleFormat(*format, kFormat);
    }
    BrokerSnapshot snapshot;
    try {
        readFields(root, snapshot, "snapshot");
    } catch (const UnknownEventKind&) {
        fail("an event of an unknown kind outside the events"); // unreachable: only rows hold one
    }
    return snapshot;
}

zmq::message_t encodeRequest()
{
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_map(1);
    packText(packer, "format");
    packer.pack(kFormat);
    return zmq::message_t(buffer.data(), buffer.size());
}

std::optional<std::uint64_t> requestedFormat(const msgpack::object_map& args) noexcept
{
    return formatOf(args);
}

} // namespace switchboard::snapshotcodec
