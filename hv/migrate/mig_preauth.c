/* Pre-authentication slot policy of the migration listener (see mig_preauth.h). */
#include "mig_preauth.h"
#include "hvlib.h"

void mig_preauth_init(struct mig_preauth *t, uint64_t budget_ns)
{
	memset(t, 0, sizeof(*t));
	t->budget_ns = budget_ns ? budget_ns : MIG_PREAUTH_BUDGET_NS;
}

int mig_preauth_place(struct mig_preauth *t, uint64_t peer, uint64_t now_ns, int *evicted)
{
	int pick = -1, same = 0;
	*evicted = -1;
	/* One attempt per address: a second replaces the first, so one host never holds
	 * more than one slot however fast it connects. */
	for (int i = 0; i < MIG_PREAUTH_SLOTS && pick < 0; i++)
		if (t->slot[i].used && t->slot[i].peer == peer)
			pick = i, same = 1;
	for (int i = 0; i < MIG_PREAUTH_SLOTS && pick < 0; i++)
		if (!t->slot[i].used)
			pick = i;
	if (pick < 0) {
		/* Full: the oldest has had the most time to finish and has not. */
		pick = 0;
		for (int i = 1; i < MIG_PREAUTH_SLOTS; i++)
			if (t->slot[i].t0 < t->slot[pick].t0)
				pick = i;
	}
	if (t->slot[pick].used) {
		*evicted = pick;
		if (same)
			t->c.replaced++;
		else
			t->c.evicted++;
	}
	t->slot[pick].used = 1;
	t->slot[pick].peer = peer;
	t->slot[pick].t0 = now_ns;
	t->c.placed++;
	return pick;
}

int mig_preauth_expired(const struct mig_preauth *t, int i, uint64_t now_ns)
{
	return t->slot[i].used && now_ns - t->slot[i].t0 > t->budget_ns;
}

void mig_preauth_release(struct mig_preauth *t, int i, int ok)
{
	if (i < 0 || i >= MIG_PREAUTH_SLOTS || !t->slot[i].used)
		return;
	t->slot[i].used = 0;
	if (ok)
		t->c.authenticated++;
	else
		t->c.failed++;
}

unsigned mig_preauth_used(const struct mig_preauth *t)
{
	unsigned n = 0;
	for (int i = 0; i < MIG_PREAUTH_SLOTS; i++)
		n += t->slot[i].used != 0;
	return n;
}

int mig_preauth_format(const struct mig_preauth *t, char *buf, size_t len)
{
	return hv_snprintf(buf, len,
			   "preauth: slots=%u used=%u budget_ms=%lu placed=%lu authenticated=%lu failed=%lu "
			   "expired=%lu evicted=%lu replaced=%lu",
			   MIG_PREAUTH_SLOTS, mig_preauth_used(t), (unsigned long)(t->budget_ns / 1000000),
			   (unsigned long)t->c.placed, (unsigned long)t->c.authenticated, (unsigned long)t->c.failed,
			   (unsigned long)t->c.expired, (unsigned long)t->c.evicted, (unsigned long)t->c.replaced);
}
