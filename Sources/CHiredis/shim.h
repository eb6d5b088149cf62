// Debian's hiredis (libhiredis-dev), seen by SluiceRedis through this system-library module.
#include <hiredis/hiredis.h>
