// Implemented by the workerlib helper.
#include <switchboard/worker.h>
