#include <switchboard/protocol/error.h>

namespace switchboard {

// These names label the broker's per-kind counters, so they are stable, short and snake_case.
std::string_view toString(ProtocolErrorKind kind) noexcept
{
    switch (kind) {
    case ProtocolErrorKind::TooFewFrames:
        return "too_few_frames";
    case ProtocolErrorKind::TooManyFrames:
        return "too_many_frames";
    case ProtocolErrorKind::MissingEmptyFrame:
        return "missing_empty_frame";
    case ProtocolErrorKind::UnknownProtocol:
        return "unknown_protocol";
    case ProtocolErrorKind::UnknownCommand:
        return "unknown_command";
    case ProtocolErrorKind::InvalidServiceName:
        return "invalid_service_name";
    case ProtocolErrorKind::InvalidClientAddress:
        return "invalid_client_address";
    case ProtocolErrorKind::InvalidRequestId:
        return "invalid_request_id";
    case ProtocolErrorKind::InvalidMethod:
        return "invalid_method";
    case ProtocolErrorKind::InvalidStatus:
        return "invalid_status";
    case ProtocolErrorKind::InvalidPayload:
        return "invalid_payload";
    case ProtocolErrorKind::InvalidCredit:
        return "invalid_credit";
    case ProtocolErrorKind::Count:
        break;
    }
    // Not a kind: reachable only through a cast, and a label must still be printable.
    return "unknown";
}

ProtocolError::ProtocolError(ProtocolErrorKind kind, const std::string& what)
    : Error(what)
    , m_kind(kind)
{}

} // namespace switchboard
