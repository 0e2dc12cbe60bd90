/*
 * store-lock.h - one owner for the state directory: it is coopd's own
 * (no other user can redirect what coopd reads or writes there) and no
 * other coopd uses it (an exclusive flock held for coopd's lifetime).
 * See store-lock.c and docs/security.md, "The state directory".
 */
#ifndef COOPD_STORE_LOCK_H
#define COOPD_STORE_LOCK_H

/* Name of the lock file in the state directory. */
#define STORE_LOCK_FILE "coopd.lock"

/* Checks every directory from / down to dir (creating the missing ones
 * 0700), then takes the lock.  On success *ret_dir_fd is the state
 * directory (O_DIRECTORY, for *at() calls) and *ret_lock_fd holds the
 * lock; both stay open until store_lock_release().  Fails (logged, with
 * the path and the reason) with -EPERM for a directory coopd must not
 * trust, -EBUSY when another coopd holds the lock, or another negative
 * errno. */
int store_lock_take(const char *dir, int *ret_dir_fd, int *ret_lock_fd);

/* Closes both fds (the lock goes with the last one); -1 is ignored. */
void store_lock_release(int dir_fd, int lock_fd);

#endif
