/* Keystream worker thread for hosted channel users (migsim, the channel tests): see ks_worker.h. */
#define _GNU_SOURCE
#include "ks_worker.h"
#include <sched.h>
#include <string.h>
#include <time.h>

enum { KSW_FREE = 0, KSW_QUEUED, KSW_RUNNING, KSW_MADE };

static void *worker_main(void *arg)
{
	struct ks_worker *w = arg;
	unsigned i = 0; /* the oldest job is made first: it is the one the sender needs next */
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		unsigned k;
		for (k = 0; k < HVC_KS_MAX_ENTRIES; k++)
			if (w->state[(i + k) % HVC_KS_MAX_ENTRIES] == KSW_QUEUED)
				break;
		if (k == HVC_KS_MAX_ENTRIES) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		i = (i + k) % HVC_KS_MAX_ENTRIES;
		w->state[i] = KSW_RUNNING;
		pthread_mutex_unlock(&w->mu);
		hvc_ks_job_run(&w->jobs[i]);
		pthread_mutex_lock(&w->mu);
		w->state[i] = KSW_MADE;
		i = (i + 1) % HVC_KS_MAX_ENTRIES;
	}
	pthread_mutex_unlock(&w->mu);
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	w->cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return NULL;
}

int ks_worker_start(struct ks_worker *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thr, NULL, worker_main, w) != 0)
		return -1;
	w->started = 1;
	return 0;
}

/* Returns made jobs (the ring finds each by its sequence number); how many are still out. */
static int return_made(struct ks_worker *w, struct hvc_channel *ch)
{
	int out = 0;
	for (unsigned i = 0; i < HVC_KS_MAX_ENTRIES; i++) {
		if (w->state[i] == KSW_MADE) {
			hvc_channel_ks_job_done(ch, &w->jobs[i]);
			w->state[i] = KSW_FREE;
		}
		out += w->state[i] != KSW_FREE;
	}
	return out;
}

void ks_worker_pump(struct ks_worker *w, struct hvc_channel *ch, size_t tx_len, size_t rx_len)
{
	if (!w->started)
		return;
	int queued = 0;
	pthread_mutex_lock(&w->mu);
	return_made(w, ch);
	for (unsigned k = 0; k < HVC_KS_MAX_ENTRIES; k++) {
		unsigned i = w->next_seq_slot;
		if (w->state[i] != KSW_FREE || hvc_channel_ks_job_take(ch, tx_len, rx_len, &w->jobs[i]) != HVC_OK)
			break;
		w->state[i] = KSW_QUEUED;
		w->next_seq_slot = (i + 1) % HVC_KS_MAX_ENTRIES;
		queued = 1;
	}
	if (queued)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void ks_worker_drain(struct ks_worker *w, struct hvc_channel *ch)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	while (return_made(w, ch)) {
		pthread_mutex_unlock(&w->mu);
		sched_yield();
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
}

void ks_worker_stop(struct ks_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	w->started = 0;
}
