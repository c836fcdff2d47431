/* A debugging aid for the migration tests: search all RAM for a secret. */
#ifndef HV_DEBUG_SCAN_H
#define HV_DEBUG_SCAN_H
#include "hvlib.h"
/* hex: the pattern's bytes XOR 0x5a, as hex (8..128 digits). */
int debug_scan(const char *hex, const struct printer *p);
#endif
