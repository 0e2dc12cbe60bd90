/*
 * job-slurm-spool.h - removing a deleted graph's Slurm spool directory
 * (job-slurm-spool.c, docs/slurm.md "Turning it on").
 */
#ifndef COOPD_JOB_SLURM_SPOOL_H
#define COOPD_JOB_SLURM_SPOOL_H

/* At most this many entries of a graph's spool directory are read. */
#define SLURM_SPOOL_SCAN_MAX (1u << 20)

/* Removes spool/gid: unlinks the names coopd's Slurm jobs create there
 * (IDX.sh, IDX.out, IDX.err, IDX.aN.out, IDX.aN.err), then the directory.
 * Anything else leaves the directory in place, logged once.  Blocking
 * (the state writer calls it after a graph's delete commits).  Returns
 * 0 when the directory is gone or never existed, -ENOTEMPTY when it was
 * left, another -errno when it could not be opened or removed. */
int slurm_spool_remove(const char *spool, const char *gid);

/* Whether name is one that coopd's Slurm jobs create in a spool directory. */
int slurm_spool_name_ours(const char *name);

#endif
