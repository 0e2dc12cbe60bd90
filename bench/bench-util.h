/*
 * bench-util.h -- what every benchmark program shares: a monotonic clock,
 * peak and current memory, a calibrated unit of CPU work, repeated runs and
 * their median, and the one-line result format that bench/run.sh reads.
 *
 * Every program is run once per measurement in its own process (so that peak
 * RSS belongs to one runtime and one workload) and prints exactly one line
 *
 *   RESULT bench=<name> rt=<runtime> workers=<n> key=value ...
 *
 * plus free-form lines starting with '#'.  Benchmarks only print: nothing
 * here asserts on time.  The header is C11 and C++ (the oneTBB peers).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bench_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Peak resident set size of the process in KiB (getrusage ru_maxrss). */
static inline long bench_maxrss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss;
}

/* CPU time of the whole process so far (user + system), in seconds: on a
 * loaded machine it moves less than wall time, so run.sh reports both. */
static inline double bench_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), -1 if absent. */
static inline long bench_status_kb(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Ascending sort of a sample array, then the q-quantile (nearest rank). */
static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static inline uint64_t bench_quantile(uint64_t *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_u64);
	size_t k = (size_t)(q * (double)(n - 1) + 0.5);
	return v[k < n ? k : n - 1];
}

/*
 * One unit of CPU work: a dependent multiply chain the compiler cannot fold
 * (the asm barrier hides the value).  bench_unit_calibrate picks the number
 * of steps that takes about target_ns, so that "a few hundred ns" means the
 * same on every machine and for every runtime.
 */
static inline uint64_t bench_spin(uint64_t steps)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (uint64_t i = 0; i < steps; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static inline uint64_t bench_unit_calibrate(uint64_t target_ns)
{
	const uint64_t probe = 1u << 20;
	uint64_t best = UINT64_MAX;

	for (int k = 0; k < 5; k++) {
		uint64_t t0 = bench_now_ns();
		(void)bench_spin(probe);
		uint64_t dt = bench_now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	uint64_t steps = (uint64_t)((double)probe * (double)target_ns / (double)(best ? best : 1));
	return steps ? steps : 1;
}

static inline int bench_arg_int(int argc, char **argv, int i, int def)
{
	return argc > i ? atoi(argv[i]) : def;
}

/*
 * A workload that lasts only milliseconds is timed several times in one
 * process (after its warm-up) and reported by the median: a single 10 ms
 * run on a shared VM moves by 30 % from one process to the next.
 */
#define BENCH_RUNS_MAX 1000

struct bench_runs {
	int runs;
	double median_s, min_s;
};

/* The RUNS argument at argv[i], 1 when absent, clamped to [1, BENCH_RUNS_MAX]. */
static inline int bench_arg_runs(int argc, char **argv, int i)
{
	int runs = bench_arg_int(argc, argv, i, 1);

	return runs < 1 ? 1 : runs > BENCH_RUNS_MAX ? BENCH_RUNS_MAX : runs;
}

/* Median and minimum of runs (from bench_arg_runs) times; sorts dt_ns. */
static inline struct bench_runs bench_time_runs(uint64_t *dt_ns, int runs)
{
	struct bench_runs r;

	r.runs = runs;
	r.median_s = (double)bench_quantile(dt_ns, (size_t)r.runs, 0.5) / 1e9;
	r.min_s = (double)dt_ns[0] / 1e9; /* sorted by bench_quantile */
	return r;
}

#endif
