/* One error vocabulary: the name of every HV_E* value, including the migration
 * engine's and the channel's codes carried in their own ranges (hvlib.h). */
#include "hvc_err.h"
#include "hvlib.h"
#include "mig_err.h"

const char *hv_strerror(int err)
{
	switch (err) {
	case HV_OK: return "success";
	case HV_ENOMEM: return "out of memory";
	case HV_EINVAL: return "invalid argument";
	case HV_ENOENT: return "no such object";
	case HV_ESTATE: return "not allowed in this state";
	case HV_ENOTSUP: return "not supported on this machine";
	case HV_EEXIST: return "already exists";
	case HV_ERANGE: return "out of range";
	case HV_EHW: return "hardware error";
	case HV_EBUSY: return "a migration of this VM is under way";
	}
	if (err < HV_E_MIG_BASE && err >= HV_E_MIG_BASE + MIG_E_LAST)
		return mig_strerror(err - HV_E_MIG_BASE);
	if (err < HV_E_HVC_BASE && err > HV_E_HVC_BASE - 1000)
		return hvc_strerror(err - HV_E_HVC_BASE);
	return "unknown error";
}
