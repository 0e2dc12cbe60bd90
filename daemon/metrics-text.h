/*
 * metrics-text.h - Prometheus text exposition (format 0.0.4) of the
 * executor's and the daemon's counters, with the names of docs/metrics.md.
 * Used by the `metrics` method (and by the HTTP /metrics endpoint once it
 * exists).
 */
#ifndef COOPD_METRICS_TEXT_H
#define COOPD_METRICS_TEXT_H

#include "coop.h"
#include "util-strbuf.h"

struct coopd;

void metrics_render(struct coopd *d, struct strbuf *sb);

/* The JSON of the `stats` method, from the same numbers. */
void stats_render(struct coopd *d, struct strbuf *sb);

#endif
