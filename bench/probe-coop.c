/*
 * probe-coop.c -- tail latency of a periodic task beside CPU hogs.
 *
 *   probe-coop WORKERS on|off [HOGS_PER_WORKER] [UNIT_NS] [HOG_MS]
 *
 * HOGS_PER_WORKER * WORKERS hog tasks each do HOG_MS of always-ready work in
 * units of about UNIT_NS, asking coop_cx_proceed before every unit (the
 * "yield before" protocol), and finish.  A probe task wants to run every
 * millisecond: it waits on a coop_timer for now + 1 ms, and on each wake
 * records how late it runs (poll time minus the timer's deadline), until
 * the hogs are done.  "on" runs the scope with the default budget (128);
 * "off" sets the scope's budget to INT32_MAX, so a hog keeps its worker for
 * its whole HOG_MS.  Reports p50/p99/max of the delay and the sample count.
 *
 * A control thread, outside libcoop, sleeps to the same 1 ms period with
 * clock_nanosleep for as long as the hogs run and records its own lateness
 * (os_p50/os_p99/os_max): what the kernel alone costs a thread that wakes
 * every millisecond on this machine, with the workers busy.  libcoop's
 * built-in timer thread is such a thread, so the probe cannot beat it.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "bench-util.h"
#include "coop.h"

#define PROBE_PERIOD_NS 1000000u
#define PROBE_MAX_SAMPLES (1u << 20)

static uint64_t unit_steps;
static _Atomic unsigned hogs_left;
static uint64_t *samples;
static size_t nsamples;

struct hog {
	uint64_t units_left;
	uint64_t sink;
};

static coop_poll hog_poll(coop_cx *cx, void *state)
{
	struct hog *h = state;

	while (h->units_left > 0) {
		if (!coop_cx_proceed(cx))
			return COOP_PENDING; /* out of budget: re-queued behind the others */
		h->sink += bench_spin(unit_steps);
		h->units_left--;
	}
	atomic_fetch_sub_explicit(&hogs_left, 1, memory_order_release);
	coop_cx_set_value(cx, (int64_t)(h->sink & 1));
	return COOP_READY;
}

struct probe {
	coop_timer *timer;
	uint64_t deadline;
};

static coop_poll probe_poll(coop_cx *cx, void *state)
{
	struct probe *p = state;

	for (;;) {
		if (p->timer) {
			if (coop_timer_poll(p->timer, cx) == COOP_PENDING)
				return COOP_PENDING;
			uint64_t now = coop_now_ns();
			if (nsamples < PROBE_MAX_SAMPLES)
				samples[nsamples++] = now - p->deadline;
			coop_timer_free(p->timer);
			p->timer = NULL;
		}
		if (atomic_load_explicit(&hogs_left, memory_order_acquire) == 0)
			return COOP_READY;
		p->deadline = coop_now_ns() + PROBE_PERIOD_NS;
		if (coop_timer_new(coop_cx_rt(cx), p->deadline, &p->timer) < 0)
			abort();
	}
}

static uint64_t *os_samples;
static size_t os_nsamples;

static void *control_main(void *arg)
{
	while (atomic_load_explicit(&hogs_left, memory_order_acquire) > 0 &&
	       os_nsamples < PROBE_MAX_SAMPLES) {
		uint64_t deadline = bench_now_ns() + PROBE_PERIOD_NS;
		struct timespec ts = {(time_t)(deadline / 1000000000u),
				      (long)(deadline % 1000000000u)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
			;
		os_samples[os_nsamples++] = bench_now_ns() - deadline;
	}
	return arg;
}

int main(int argc, char **argv)
{
	unsigned workers = (unsigned)bench_arg_int(argc, argv, 1, 2);
	bool budget_on = !(argc > 2 && strcmp(argv[2], "off") == 0);
	unsigned per_worker = (unsigned)bench_arg_int(argc, argv, 3, 4);
	int unit_ns = bench_arg_int(argc, argv, 4, 300);
	int hog_ms = bench_arg_int(argc, argv, 5, 200);
	coop_rt_options ro = {0};
	coop_scope_opts so = {0};
	coop_rt *rt;
	coop_scope *scope;
	coop_stats st;

	pthread_t control;

	samples = calloc(PROBE_MAX_SAMPLES, sizeof(*samples));
	os_samples = calloc(PROBE_MAX_SAMPLES, sizeof(*os_samples));
	if (!samples || !os_samples)
		return 1;
	unit_steps = bench_unit_calibrate((uint64_t)unit_ns);
	ro.workers = workers;
	so.budget = budget_on ? 0 : INT32_MAX;
	if (coop_rt_new(&ro, &rt) < 0 || coop_scope_new(rt, NULL, &so, &scope) < 0)
		return 1;

	unsigned nhogs = per_worker * workers;
	struct hog hog = {(uint64_t)hog_ms * 1000000u / (uint64_t)unit_ns, 0};
	struct probe probe = {NULL, 0};
	atomic_store(&hogs_left, nhogs);
	uint64_t t0 = bench_now_ns();
	if (coop_spawn(scope, probe_poll, &probe, sizeof(probe), NULL, NULL, NULL) < 0)
		abort();
	for (unsigned i = 0; i < nhogs; i++)
		if (coop_spawn(scope, hog_poll, &hog, sizeof(hog), NULL, NULL, NULL) < 0)
			abort();
	if (pthread_create(&control, NULL, control_main, NULL) != 0)
		return 1;
	coop_scope_join(scope, NULL);
	pthread_join(control, NULL);
	uint64_t dt = bench_now_ns() - t0;
	coop_rt_stats(rt, &st);
	coop_scope_free(scope);
	coop_rt_free(rt);

	size_t n = nsamples;
	uint64_t p50 = bench_quantile(samples, n, 0.50);
	uint64_t p99 = bench_quantile(samples, n, 0.99);
	uint64_t mx = n ? samples[n - 1] : 0;
	size_t on = os_nsamples;
	uint64_t os50 = bench_quantile(os_samples, on, 0.50);
	uint64_t os99 = bench_quantile(os_samples, on, 0.99);
	uint64_t osmx = on ? os_samples[on - 1] : 0;
	printf("# forced_yields=%" PRIu64 " polls=%" PRIu64 "\n", st.forced_yields, st.polls);
	printf("RESULT bench=probe-%s rt=coop workers=%u hogs=%u unit_ns=%d hog_ms=%d"
	       " time_s=%.6f samples=%zu p50_us=%.1f p99_us=%.1f max_us=%.1f"
	       " os_p50_us=%.1f os_p99_us=%.1f os_max_us=%.1f ok=%d\n",
	       budget_on ? "on" : "off", workers, nhogs, unit_ns, hog_ms, (double)dt / 1e9, n,
	       (double)p50 / 1e3, (double)p99 / 1e3, (double)mx / 1e3, (double)os50 / 1e3,
	       (double)os99 / 1e3, (double)osmx / 1e3, n > 0);
	free(samples);
	free(os_samples);
	return 0;
}
