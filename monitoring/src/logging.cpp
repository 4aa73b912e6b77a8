#include "logging.h"

Q_LOGGING_CATEGORY(lcMonitoring, "switchboard.monitoring")
