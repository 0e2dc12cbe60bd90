/*
 * store-damage.h - a damaged state database is moved aside, so that coopd
 * starts with an empty one rather than not at all (store-damage.c,
 * docs/durability.md, "Damage").
 */
#ifndef COOPD_STORE_DAMAGE_H
#define COOPD_STORE_DAMAGE_H

/* Moves file (the database, in the state directory dir whose fd is
 * state_fd, or -1) and its -wal and -shm files to
 * dir/damaged/FILE.YYYYmmddTHHMMSSZ (".N" added when that name is taken:
 * an earlier one is never overwritten) and logs one error line naming
 * both paths and why.  Returns 0, or a negative errno (logged) if the
 * database could not be moved: the caller must then not start. */
int store_damage_move_aside(int state_fd, const char *dir, const char *file, const char *why);

#endif
