/*
 * server-internal.h - what server-listen.c, server-conn.c and
 * server-dispatch.c share and nobody else needs.
 */
#ifndef COOPD_SERVER_INTERNAL_H
#define COOPD_SERVER_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "server.h"
#include "util-uidcount.h"

struct server {
	struct coopd *d;
	int fd;
	bool activated; /* fd from systemd: never unlink */
	ino_t ino;      /* inode of the socket file we bound */
	ev_io accept_w;
	ev_timer accept_pause; /* after EMFILE/ENFILE */
	bool accepting;
	bool draining; /* the stop's last step: the loop ends with the last conn */
	struct conn *conns;
	size_t n_conns;
	/* Fair share (docs/security.md): connections and bytes of unread
	 * input per uid, and the input of every connection together. */
	struct uidcount conns_of;
	struct uidcount input_of;
	size_t input_total;
	struct conn *watchers;
	unsigned long next_serial;
};

int listen_open(struct coopd *d, int *ret_fd, bool *ret_activated, ino_t *ret_ino);
void listen_unlink(struct coopd *d, ino_t ino);

#endif
