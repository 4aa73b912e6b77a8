#include "logging.h"

Q_LOGGING_CATEGORY(lcMonitor, "switchboard.monitor")
