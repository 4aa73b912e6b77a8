// Implemented by the clientlib helper.
#include <switchboard/client.h>
