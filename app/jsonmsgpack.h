#pragma once

#include <QJsonValue>

#include <msgpack.hpp>

// The command line speaks JSON, the wire speaks msgpack: conversions both ways for `switchboard
// call`. JSON has no binary type, so msgpack binary and extension values come out as base64
// strings; map keys that are not strings come out as their JSON text.
namespace switchboard::jsonmsgpack {

void packJson(msgpack::packer<msgpack::sbuffer>& packer, const QJsonValue& value);

QJsonValue toJson(const msgpack::object& object);

// A command-line argument as a JSON value: the text parsed as JSON when it is JSON ("2",
// "[1,2]", "\"hi\"", "null"), and otherwise the text itself as a string, so that
// `switchboard call echo say hello` needs no quotes.
QJsonValue parseArgument(const QString& text);

// A JSON value as the command line prints it: scalars bare, containers indented (or on one
// line when `compact`).
QString format(const QJsonValue& value, bool compact);

} // namespace switchboard::jsonmsgpack
