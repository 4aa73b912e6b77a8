#pragma once

#include <QString>

namespace zmq {
class error_t;
}

namespace switchboard {

// Whether only this machine can reach an endpoint: ipc, inproc, and tcp on a loopback address.
bool isLocalEndpoint(const QString& endpoint);

// Why libzmq refused to bind, in an operator's words.
QString bindFailureReason(const zmq::error_t& error);

} // namespace switchboard
