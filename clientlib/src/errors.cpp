#include <switchboard/errors.h>

namespace switchboard {

RemoteError::RemoteError(const std::string& what, std::string type, std::string message,
                         std::string detail)
    : Error(what)
    , m_type(std::move(type))
    , m_message(std::move(message))
    , m_detail(std::move(detail))
{}

} // namespace switchboard
