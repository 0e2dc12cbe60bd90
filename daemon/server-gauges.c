/*
 * server-gauges.c - what the server counts that others read: its open
 * connections, the bytes of requests read and not yet dispatched, and of
 * answers not yet sent (metrics-text.c for `metrics` and `stats`, the
 * lifecycle's STATUS=).
 *
 * Why a file of its own: the connection code (server-conn.c) and the
 * methods call each other, as a server does; metrics and the lifecycle
 * only read a few numbers, and reading them here, below the connection
 * code, keeps them out of its cycle (docs/architecture.md, "The daemon's
 * layout").  server-conn.c keeps the numbers in struct server.
 */
#include "config.h"

#include "coopd.h"
#include "server-internal.h"

size_t server_connections(const struct server *s)
{
	return s->n_conns;
}

size_t server_input_bytes(const struct server *s)
{
	return s->input_total;
}

size_t server_answer_bytes(const struct server *s)
{
	return s->answers_total;
}
