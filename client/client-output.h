/*
 * client-output.h - how coopctl shows things to a person.
 *
 * Durations ("500ms", "2m05s") both ways, the status tree, the list table,
 * the progress bar of `wait`, the lines of `watch` and the stats report.
 * Everything writes to a FILE * and takes the clock and the terminal's
 * abilities as arguments, so the unit tests render canned daemon answers
 * and compare text.
 */
#ifndef CLIENT_OUTPUT_H
#define CLIENT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;

/* obj[key] (borrowed) when obj is an object that has it, else NULL: how
 * coopctl reads the daemon's answers, which a newer daemon may extend. */
struct json_object *output_get(struct json_object *obj, const char *key);

/* obj[key] when it is a string, else NULL. */
const char *output_str(struct json_object *obj, const char *key);

/* How to render. */
struct output_opts {
	bool color;     /* ANSI colours */
	bool utf8;      /* box-drawing glyphs and the block progress bar */
	int64_t now_ms; /* the current time, for durations of running work */
	int width;      /* terminal columns (progress bar); 0: 80 */
};

/* Parses a duration: a non-negative number with a unit ms, s, m or h
 * ("500ms", "5s", "1.5s", "2m", "1h30m"; a bare number is seconds).
 * Returns 0 and milliseconds in *ret_ms, or -EINVAL (malformed) or -ERANGE
 * (over 2^63-1 ms). */
int output_duration_parse(const char *text, uint64_t *ret_ms);

/* Formats milliseconds for people: "0ms", "450ms", "2.31s", "59.9s",
 * "2m05s", "1h02m", "3d04h".  Returns buf. */
#define OUTPUT_DURATION_BUF 32
char *output_duration_format(int64_t ms, char *buf, size_t size);

/* The exit code for a graph's final state: 0 succeeded, 1 otherwise (and
 * for a state that is not final). */
int output_exit_for_state(const char *state);

/* True for succeeded, failed, cancelled, skipped and interrupted. */
bool output_state_is_final(const char *state);

/* The ANSI colour sequence for a state ("" without colour). */
const char *output_state_color(const char *state, bool color);
const char *output_reset(bool color);

/* Renders a `status` answer (the whole graph) as a header and a tree of
 * nodes: path glyphs, id, kind, state, duration and details (exit code,
 * signal, error, cancel reason with its acknowledgement latency, stats).
 * Returns 0, or -EINVAL when the answer does not look like a status. */
int output_status_tree(FILE *out, struct json_object *status, const struct output_opts *o);

/* Renders a summary status ({id, name, state, counts}). */
int output_status_summary(FILE *out, struct json_object *status, const struct output_opts *o);

/* Renders a `list` answer as a table (or "No graphs." when empty). */
int output_list(FILE *out, struct json_object *list, const struct output_opts *o);

/* Node counts of a summary status: total and settled. */
struct output_counts {
	int64_t total, done, running, failed, cancelled;
};
void output_counts_from_summary(struct json_object *status, struct output_counts *ret);

/* Draws the progress bar on one terminal line (starts with '\r', clears to
 * the end of the line, no newline). */
void output_progress_bar(FILE *out, const char *id, const struct output_counts *c,
			 int64_t elapsed_ms, const struct output_opts *o);

/* One plain line for a watch event: "TIME GRAPH NODE STATE details". */
void output_event_line(FILE *out, struct json_object *params, const struct output_opts *o);

/* The closing line of wait/submit --wait: "ID (name) succeeded in 2.31s:
 * 7 succeeded, 1 failed." from a final status (summary or whole). */
void output_outcome_line(FILE *out, struct json_object *status, const struct output_opts *o);

/* A Prometheus histogram: cumulative counts per upper bound (le; -1 for
 * +Inf), in the order the text lists them. */
#define OUTPUT_HIST_MAX 64
struct output_histogram {
	double le[OUTPUT_HIST_MAX];
	double cum[OUTPUT_HIST_MAX];
	size_t n;
};

/* Reads the NAME_bucket{le="..."} lines of a metrics text.  Returns 0, or
 * -ENOENT when there are none. */
int output_histogram_parse(const char *text, const char *name, struct output_histogram *ret);

/* Estimates quantile q (0..1) by linear interpolation within the bucket,
 * as Prometheus' histogram_quantile() does; -1 when the histogram is
 * empty. */
double output_histogram_quantile(const struct output_histogram *h, double q);

/* Renders the `stats` answer for people; hist (may be NULL) is the cancel
 * latency histogram, for percentiles. */
int output_stats(FILE *out, struct json_object *stats, const struct output_histogram *hist,
		 const struct output_opts *o);

#endif /* CLIENT_OUTPUT_H */
