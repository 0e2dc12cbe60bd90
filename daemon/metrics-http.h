/*
 * metrics-http.h - Prometheus scrapes: GET /metrics over HTTP on
 * --metrics-listen ADDR:PORT, served by libmicrohttpd driven from the
 * daemon's libev loop (no extra thread: the text is rendered from daemon
 * state, which belongs to the loop thread).
 */
#ifndef COOPD_METRICS_HTTP_H
#define COOPD_METRICS_HTTP_H

struct coopd;
struct metrics_http;

/* Binds cfg.metrics_listen and starts serving.  Logs and returns a
 * negative errno on failure. */
int metrics_http_start(struct coopd *d, struct metrics_http **ret);
void metrics_http_stop(struct metrics_http *h);

#endif
