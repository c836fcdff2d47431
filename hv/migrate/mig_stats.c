/* The MIGSTAT line: one record per migration that scripts and the console both read. */
#include "mig_stats.h"
#include "mig_err.h"
#include "hvlib.h"

static unsigned long long ms(uint64_t ns) { return (unsigned long long)(ns / 1000000u); }

/* Appends a comma list of one field of the per-round records. */
static size_t list(char *buf, size_t len, size_t pos, const char *key, const struct mig_stats *st, size_t off)
{
	uint32_t n = st->rounds < MIG_STATS_ROUNDS ? st->rounds : MIG_STATS_ROUNDS;
	pos += (size_t)hv_snprintf(buf + (pos < len ? pos : len), pos < len ? len - pos : 0, " %s=", key);
	for (uint32_t i = 0; i < n; i++) {
		const uint64_t *v = (const uint64_t *)((const char *)&st->r[i] + off);
		pos += (size_t)hv_snprintf(buf + (pos < len ? pos : len), pos < len ? len - pos : 0,
					   i ? ",%llu" : "%llu", (unsigned long long)*v);
	}
	if (!n)
		pos += (size_t)hv_snprintf(buf + (pos < len ? pos : len), pos < len ? len - pos : 0, "-");
	return pos;
}

int mig_stats_format(const struct mig_stats *st, char *buf, size_t len)
{
	size_t pos = (size_t)hv_snprintf(
		buf, len,
		"MIGSTAT id=%llx role=%s result=%s detail=%d enc=%d rounds=%u pages=%llu zero=%llu "
		"bytes=%llu final_pages=%llu state_bytes=%llu dirty_pps=%llu bw_Bps=%llu total_ms=%llu "
		"target_ms=%llu predicted_ms=%llu downtime_ms=%llu downtime_us=%llu predicted_us=%llu "
		"dt_copy_us=%llu dt_ready_us=%llu dt_confirm_us=%llu drain_us=%llu throttle_pct=%u forced_stop=%d "
		"stop_prepared=%u fail_state=%s busy_cycles=%llu wire_bytes=%llu cycles_per_kib=%llu",
		(unsigned long long)st->mig_id, st->role ? "dst" : "src", mig_strerror(st->result), st->detail,
		st->encrypted, st->rounds, (unsigned long long)st->pages, (unsigned long long)st->zero_pages,
		(unsigned long long)st->bytes, (unsigned long long)st->final_pages, (unsigned long long)st->state_bytes,
		(unsigned long long)st->dirty_pps, (unsigned long long)st->bw_Bps, ms(st->total_ns), ms(st->target_ns),
		ms(st->predicted_ns), ms(st->downtime_ns), (unsigned long long)(st->downtime_ns / 1000u),
		(unsigned long long)(st->predicted_ns / 1000u), (unsigned long long)(st->dt_copy_ns / 1000u),
		(unsigned long long)(st->dt_ready_ns / 1000u), (unsigned long long)(st->dt_confirm_ns / 1000u),
		(unsigned long long)(st->drain_ns / 1000u), st->throttle_pct, st->forced_stop, st->stop_prepared,
		st->fail_state ? st->fail_state : "-", (unsigned long long)st->busy_cycles,
		(unsigned long long)st->wire_bytes,
		(unsigned long long)(st->wire_bytes ? st->busy_cycles * 1024u / st->wire_bytes : 0));
	pos = list(buf, len, pos, "round_pages", st, offsetof(struct mig_round_rec, pages));
	pos = list(buf, len, pos, "round_bytes", st, offsetof(struct mig_round_rec, bytes));
	pos = list(buf, len, pos, "round_zero", st, offsetof(struct mig_round_rec, zero));
	pos = list(buf, len, pos, "round_dirtied", st, offsetof(struct mig_round_rec, dirtied));
	pos = list(buf, len, pos, "round_ns", st, offsetof(struct mig_round_rec, ns));
	return (int)pos;
}
