/* Simulated guest for migsim: RAM written by a paced writer thread (the "vCPU"), dirty
 * tracking by atomic bitmap, pause/resume/throttle, a state blob, scrub, and checks. */
#ifndef MIGSIM_GUEST_H
#define MIGSIM_GUEST_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "mig.h"

/* Page layout written by the vCPU: u64 sweep counter at offset 0, the pfn at 8, the rest
 * a fixed pattern of the pfn (so pages are not zero and not alike). Pages beyond the
 * data region stay zero and travel as markers. */
struct simguest {
	uint64_t npages, data_pages, hot_pages;
	uint8_t *mem;
	_Atomic uint64_t *dirty;
	uint64_t rate_pps; /* pages written per second at 0 % throttle */
	_Atomic unsigned throttle;
	_Atomic int pause_req, parked, quit, started;
	_Atomic uint64_t writes; /* progress counter: "the guest is alive" */
	uint64_t cursor, sweep;	 /* vCPU state: next page, current sweep number */
	pthread_t thr;
	int have_thread, loaded, defer_start, scrub_verified;
	/* the writer's CPU time: its own clock, kept when it exits (last), summed over the
	 * threads already joined (done) */
	double writer_cpu_last, writer_cpu_done;
	uint8_t state_fill[4096]; /* stands in for registers, FPU, MSRs, devices */
};

int sg_init(struct simguest *g, uint64_t mem_bytes, uint64_t rate_pps, int source);
void sg_start(struct simguest *g); /* the vCPU runs */
void sg_stop_thread(struct simguest *g);
void sg_free(struct simguest *g);
struct mig_guest_ops sg_ops(struct simguest *g);
uint64_t sg_hash(const struct simguest *g);
/* QEMU-style check of the hot region: counters equal, except one step down by one where
 * the vCPU stopped. Returns 0 and the edge pfn (or npages) on success, -1 on a lost page. */
int sg_pattern_check(const struct simguest *g, uint64_t *edge, uint64_t *bad_pfn);
int sg_pause(struct simguest *g);
int sg_resume(struct simguest *g);
/* CPU seconds (user+sys) the vCPU writer has used so far, over all its runs: the
 * simulated guest's work, which is not the migration's. */
double sg_writer_cpu_s(const struct simguest *g);
#endif
