#include "logging.h"

Q_LOGGING_CATEGORY(lcBroker, "switchboard.broker")
