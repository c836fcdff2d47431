/* A thread that makes a channel's keystream ahead (hvc_channel_ks_job_*), so the thread
 * that sends only XORs and hashes: encryption borrows a spare core instead of time. */
#ifndef HVC_KS_WORKER_H
#define HVC_KS_WORKER_H
#include <pthread.h>
#include <stddef.h>
#include "hvc_channel.h"

struct ks_worker {
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hvc_ks_job jobs[HVC_KS_MAX_ENTRIES];
	int state[HVC_KS_MAX_ENTRIES]; /* KSW_FREE, KSW_QUEUED, KSW_RUNNING, KSW_MADE */
	unsigned next_seq_slot;	       /* slots are handed out and run in this order */
	int stop, started;
	double cpu_s; /* the worker's CPU time, set when it stops */
};

int ks_worker_start(struct ks_worker *w);
/* Channel's thread: returns made jobs to ch, hands out new ones for frames of tx_len /
 * rx_len bytes (0: that direction needs none). Cheap; call it often. */
void ks_worker_pump(struct ks_worker *w, struct hvc_channel *ch, size_t tx_len, size_t rx_len);
/* Channel's thread: waits for every job out and returns it (before the channel goes). */
void ks_worker_drain(struct ks_worker *w, struct hvc_channel *ch);
/* Stops the thread (after drain); cpu_s holds its CPU time afterwards. */
void ks_worker_stop(struct ks_worker *w);
#endif
