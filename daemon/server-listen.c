/*
 * server-listen.c - the listening socket.
 *
 * Socket activation first: with LISTEN_FDS set (systemd's coopd.socket),
 * the first passed fd must be a listening Unix stream socket and is used
 * as is; its file belongs to systemd and is never unlinked here.
 *
 * Otherwise coopd binds cfg.socket_path itself: the parent directory is
 * created when missing (0755 for /run/coopd, 0700 otherwise), the socket
 * is created under a umask that gives 0600 (user instance) or 0660 (root;
 * group `coopd` when that group exists).  A file already at the path is
 * probed: if a daemon answers a connect() there, coopd refuses to start;
 * if nobody answers (ECONNREFUSED: a stale socket of a dead daemon), it is
 * unlinked and the path reused; anything that is not a socket is left
 * alone and coopd refuses to start.  The probe runs first at start-up
 * (server_listen_check, before crash recovery could touch anything of a
 * running daemon's) and again when binding.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/linkhash.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "coopd.h"
#include "server-internal.h"
#include "util-log.h"

static int mkdir_parent(const char *path, bool root)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, root ? 0755 : 0700) < 0 && errno != EEXIST)
		return log_errno(LOG_ERR, -errno, "cannot create socket directory %s", dir);
	return 0;
}

/* Probes an existing file at path: 0 if it was a stale socket (now
 * removed) or nothing, negative if coopd must not start. */
static int handle_existing(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : log_errno(LOG_ERR, -errno, "cannot stat %s", path);
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket; refusing to replace it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_errno(LOG_ERR, -errno, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0) {
		log_err("another coopd is already listening on %s; refusing to start", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED && errno != ENOENT)
		return log_errno(LOG_ERR, -errno, "cannot probe existing socket %s", path);
	log_notice("removing stale socket %s (nobody answers)", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return log_errno(LOG_ERR, -errno, "cannot remove stale socket %s", path);
	return 0;
}

int server_listen_check(struct coopd *d)
{
	/* sd_listen_fds(0) leaves LISTEN_FDS for listen_open(). */
	if (sd_listen_fds(0) > 0)
		return 0;
	return handle_existing(d->cfg.socket_path);
}

int listen_open(struct coopd *d, int *ret_fd, bool *ret_activated, ino_t *ret_ino)
{
	const char *path = d->cfg.socket_path;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	bool root = geteuid() == 0;
	struct stat st;
	mode_t old;
	int n, fd, r;

	n = sd_listen_fds(1);
	if (n < 0)
		return log_errno(LOG_ERR, n, "sd_listen_fds");
	if (n > 0) {
		fd = SD_LISTEN_FDS_START;
		if (n > 1)
			log_warn("%d sockets passed by systemd; using the first", n);
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			log_err("socket passed by systemd is not a listening Unix stream socket");
			return -EINVAL;
		}
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		*ret_fd = fd;
		*ret_activated = true;
		*ret_ino = 0;
		log_info("listening on the socket passed by systemd");
		return 0;
	}

	if ((r = mkdir_parent(path, root)) < 0)
		return r;
	if ((r = handle_existing(path)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_errno(LOG_ERR, -errno, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	old = umask(root ? 0117 : 0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = log_errno(LOG_ERR, -errno, "cannot bind %s", path);
		close(fd);
		return r;
	}
	if (root) {
		struct group *gr = getgrnam("coopd");

		if (gr && chown(path, 0, gr->gr_gid) < 0)
			log_errno(LOG_WARNING, -errno, "cannot give %s to group coopd", path);
	}
	if (listen(fd, 128) < 0) {
		r = log_errno(LOG_ERR, -errno, "cannot listen on %s", path);
		close(fd);
		(void)unlink(path);
		return r;
	}
	*ret_ino = stat(path, &st) == 0 ? st.st_ino : 0;
	*ret_fd = fd;
	*ret_activated = false;
	log_info("listening on %s", path);
	return 0;
}

void listen_unlink(struct coopd *d, ino_t ino)
{
	struct stat st;

	/* Only remove the file if it is still ours (a later daemon may have
	 * replaced it). */
	if (ino && stat(d->cfg.socket_path, &st) == 0 && st.st_ino == ino)
		(void)unlink(d->cfg.socket_path);
}
