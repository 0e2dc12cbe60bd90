# tests/: libcoop's Check suites (other areas register theirs from their
# own local.mk).  Every suite is a plain program for automake's harness.
LIB_TEST_LDADD = lib/libcoop.la $(CHECK_LIBS)
LIB_TEST_CCFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
LIB_TEST_LINKFLAGS = $(AM_LDFLAGS) -no-install

check_PROGRAMS += tests/suite-lib-exec
tests_suite_lib_exec_SOURCES = tests/suite-lib-exec.c tests/test-coop.h
tests_suite_lib_exec_CFLAGS = $(LIB_TEST_CCFLAGS)
tests_suite_lib_exec_LDADD = $(LIB_TEST_LDADD)
tests_suite_lib_exec_LDFLAGS = $(LIB_TEST_LINKFLAGS)

TESTS += tests/suite-lib-exec
EXTRA_DIST += tests/run-one.sh

check_PROGRAMS += tests/suite-lib-cancel
tests_suite_lib_cancel_SOURCES = tests/suite-lib-cancel.c tests/test-coop.h
tests_suite_lib_cancel_CFLAGS = $(LIB_TEST_CCFLAGS)
tests_suite_lib_cancel_LDADD = $(LIB_TEST_LDADD)
tests_suite_lib_cancel_LDFLAGS = $(LIB_TEST_LINKFLAGS)
TESTS += tests/suite-lib-cancel

check_PROGRAMS += tests/suite-lib-reactor
tests_suite_lib_reactor_SOURCES = tests/suite-lib-reactor.c tests/test-coop.h
tests_suite_lib_reactor_CFLAGS = $(LIB_TEST_CCFLAGS)
tests_suite_lib_reactor_LDADD = $(LIB_TEST_LDADD)
tests_suite_lib_reactor_LDFLAGS = $(LIB_TEST_LINKFLAGS)
TESTS += tests/suite-lib-reactor

# The injection queue alone: its source compiled in, malloc wrapped so that
# a test can make it fail (suite-lib-inject.c says why).
check_PROGRAMS += tests/suite-lib-inject
tests_suite_lib_inject_SOURCES = tests/suite-lib-inject.c lib/coop-inject.c lib/coop-internal.h
tests_suite_lib_inject_CFLAGS = $(LIB_TEST_CCFLAGS)
tests_suite_lib_inject_LDADD = $(CHECK_LIBS)
tests_suite_lib_inject_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=malloc
TESTS += tests/suite-lib-inject

# `make soak` (issue 7): the long versions of the daemon's proof-under-load
# tests: more load rounds, a few hundred kill -9s, a long live fuzz.  Each
# test reads COOPD_SOAK=1 and sizes itself; `make check` runs the short
# versions of the same files.
SOAK_TESTS = tests/integration/test-daemon-load.sh tests/integration/test-daemon-crashloop.sh \
	tests/integration/test-daemon-fuzz-live.sh
soak:
	COOPD_SOAK=1 $(MAKE) $(AM_MAKEFLAGS) check TESTS="$(SOAK_TESTS)"

# Every input of the libFuzzer harness's committed corpus and every input
# that ever crashed it (tests/fuzz/regress-proto: copy libFuzzer's crash-*
# file there with the fix) replayed by a plain program in every `make
# check`, with the usual compiler and, in the sanitized pass, ASan+UBSan.
check_PROGRAMS += tests/fuzz/fuzz-proto-replay
tests_fuzz_fuzz_proto_replay_SOURCES = tests/fuzz/fuzz-proto.c tests/fuzz/fuzz-replay.c
tests_fuzz_fuzz_proto_replay_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_fuzz_fuzz_proto_replay_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_fuzz_fuzz_proto_replay_LDADD = proto/libcoopproto.la $(JSONC_LIBS)
TESTS += tests/fuzz/fuzz-proto-replay
EXTRA_DIST += tests/fuzz/regress-proto tests/fuzz/fuzz-live.py

# -- Slurm (issue 16): `make check-slurm` starts a one-node cluster of its
# own (tests/slurm/cluster.sh: munge, slurmctld, slurmd as root on
# loopback, stopped by pid at the end) and runs these against it.  Not
# part of `make check`: they need root and Debian's slurm-wlm and munge.
# Without them the target says why and succeeds (skip); with them, a
# cluster that does not come up fails it, with the daemons' logs.
SLURM_TESTS = tests/slurm/test-slurm-cluster.sh tests/slurm/test-slurm-exec.sh \
	tests/slurm/test-slurm-cancel.sh tests/slurm/test-slurm-hung.sh \
	tests/slurm/test-slurm-restart.sh tests/slurm/test-slurm-reattach.sh
EXTRA_DIST += $(SLURM_TESTS) tests/slurm/cluster.sh tests/slurm/lib-slurm.sh \
	tests/slurm/run-tests.sh
check-slurm: coopd$(EXEEXT) coopctl$(EXEEXT)
	@rc=0; top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
		$(top_srcdir)/tests/slurm/cluster.sh run \
		$(top_srcdir)/tests/slurm/run-tests.sh $(SLURM_TESTS) || rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "check-slurm: skipped (see the SKIP line above)"; rc=0; fi; \
	exit $$rc
.PHONY: check-slurm

# -- fair share (issue 15, conn): the blocking pool's per-key queues and bound
check_PROGRAMS += tests/suite-lib-fair
tests_suite_lib_fair_SOURCES = tests/suite-lib-fair.c tests/test-coop.h
tests_suite_lib_fair_CFLAGS = $(LIB_TEST_CCFLAGS)
tests_suite_lib_fair_LDADD = $(LIB_TEST_LDADD)
tests_suite_lib_fair_LDFLAGS = $(LIB_TEST_LINKFLAGS)
TESTS += tests/suite-lib-fair
# the fairness run: one user hammering, another's graphs go on
SOAK_TESTS += tests/integration/test-daemon-fair-soak.sh
# -- the defaults agree: a graph of max_nodes nodes runs (issue 18, docs):
SOAK_TESTS += tests/integration/test-daemon-defaults.sh
# -- pause of Slurm nodes (issue 17):
SLURM_TESTS += tests/slurm/test-slurm-pause.sh
# -- big answers (issue 15 item 2, stream): 100,000 nodes in the soak
SOAK_TESTS += tests/integration/test-daemon-fair-answers.sh

# -- hostile (session 6): what one user's Slurm jobs leave in their graph's
# spool directory never reaches coopd's loop or another file.
SLURM_TESTS += tests/slurm/test-slurm-spool-owner.sh
# -- hostile (session 6): a reused Slurm node's logs read from the rerun
SLURM_TESTS += tests/slurm/test-slurm-rerun-logs.sh
# -- spoolclean (session 7): a deleted graph's Slurm spool directory goes
# with it, and what its owner planted there is not followed
SLURM_TESTS += tests/slurm/test-slurm-spool-clean.sh
