# daemon: coopd, the job-graph daemon (see docs/architecture.md).
# Everything but main() goes into a convenience library, as the client's
# does, so that unit suites (tests/suite-daemon-graph.c) link the daemon's
# core without a socket.  A new daemon source goes into
# daemon_libcoopd_la_SOURCES (`daemon_libcoopd_la_SOURCES += daemon/x.c`),
# not into coopd_SOURCES: the suites link only the library.
noinst_LTLIBRARIES += daemon/libcoopd.la
daemon_libcoopd_la_SOURCES = \
	daemon/coopd.h \
	daemon/coopd-config.c daemon/coopd-config.h \
	daemon/coopd-lifecycle.c \
	daemon/graph-registry.c daemon/graph-registry.h \
	daemon/graph-model.c daemon/graph-model.h \
	daemon/graph-run.c daemon/graph-run.h \
	daemon/job-builtin.c daemon/job-builtin.h \
	daemon/job-exec.c daemon/job-exec.h \
	daemon/job-exec-recover.c daemon/job-exec-recover.h \
	daemon/job-cgroup.c daemon/job-cgroup.h daemon/job-orphans.c daemon/job-orphans.h \
	daemon/job-proc.c daemon/job-proc.h \
	daemon/job-spawn.c daemon/job-spawn.h daemon/job-spawn-guard.c daemon/job-spawn-guard.h \
	daemon/job-owner.c daemon/job-owner.h \
	daemon/job-slurm.c daemon/job-slurm.h daemon/job-slurm-cmd.c daemon/job-slurm-cmd.h \
	daemon/job-slurm-parse.c daemon/job-slurm-parse.h \
	daemon/method.h \
	daemon/method-cancel.c \
	daemon/method-list.c \
	daemon/method-logs.c \
	daemon/method-metrics.c \
	daemon/method-ping.c \
	daemon/method-stats.c \
	daemon/method-status.c \
	daemon/method-submit.c \
	daemon/method-version.c \
	daemon/method-wait.c daemon/method-wait.h \
	daemon/method-watch.c \
	daemon/metrics-http.c daemon/metrics-http.h \
	daemon/metrics-text.c daemon/metrics-text.h \
	daemon/reactor-inbox.c daemon/reactor-inbox.h \
	daemon/reactor-timer.c daemon/reactor-timer.h \
	daemon/server.h daemon/server-internal.h \
	daemon/server-conn.c \
	daemon/server-dispatch.c \
	daemon/server-listen.c \
	daemon/server-watch.c daemon/server-watch.h \
	daemon/store-retention.c daemon/store-retention.h \
	daemon/store-state.c daemon/store-state.h \
	daemon/util-log.c daemon/util-log.h \
	daemon/util-strbuf.c daemon/util-strbuf.h
# The library's flags are coopd's (areas below add to coopd_CPPFLAGS).
daemon_libcoopd_la_CPPFLAGS = $(coopd_CPPFLAGS)

sbin_PROGRAMS += coopd
coopd_SOURCES = daemon/coopd-main.c
dist_man_MANS += daemon/coopd.8 daemon/coopd.conf.5 daemon/coopd.graph.5
coopd_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon $(JSONC_CFLAGS) $(SYSTEMD_CFLAGS) \
	$(MHD_CFLAGS)
coopd_LDADD = daemon/libcoopd.la lib/libcoop.la proto/libcoopproto.la $(JSONC_LIBS) $(EV_LIBS) $(SYSTEMD_LIBS) \
	$(MHD_LIBS)

# Integration tests of the daemon (raw JSON-RPC; tests/lib-coopd.sh).
DAEMON_TESTS = \
	tests/integration/test-daemon-basics.sh \
	tests/integration/test-daemon-kinds.sh \
	tests/integration/test-daemon-policies.sh \
	tests/integration/test-daemon-exec.sh \
	tests/integration/test-daemon-cancel.sh \
	tests/integration/test-daemon-bad-requests.sh \
	tests/integration/test-daemon-watch.sh \
	tests/integration/test-daemon-metrics.sh \
	tests/integration/test-daemon-durability.sh \
	tests/integration/test-daemon-retention.sh \
	tests/integration/test-daemon-diskfull.sh \
	tests/integration/test-daemon-socket.sh \
	tests/integration/test-daemon-load.sh
# Each area appends its own tests below its own heading (one line each), so
# that people working at once never edit the same line.
# -- orphans and cgroups (issue 7):
DAEMON_TESTS += tests/integration/test-daemon-orphans.sh
check_PROGRAMS += tests/suite-daemon-jobs
tests_suite_daemon_jobs_SOURCES = tests/suite-daemon-jobs.c daemon/job-orphans.c \
	daemon/job-proc.c daemon/job-cgroup.c daemon/util-log.c
tests_suite_daemon_jobs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_suite_daemon_jobs_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_suite_daemon_jobs_LDADD = $(CHECK_LIBS)
TESTS += tests/suite-daemon-jobs
# -- identity, load, crash loop, live fuzz (issue 7):
DAEMON_TESTS += tests/integration/test-daemon-users.sh
DAEMON_TESTS += tests/integration/test-daemon-limits.sh
DAEMON_TESTS += tests/integration/test-daemon-crashloop.sh
DAEMON_TESTS += tests/integration/test-daemon-fuzz-live.sh
# -- systemd and sd_notify (issue 8):
DAEMON_TESTS += tests/integration/test-daemon-notify.sh
DAEMON_TESTS += tests/integration/test-daemon-reload.sh
# -- metrics and Prometheus (issue 8):
DAEMON_TESTS += tests/integration/test-daemon-prometheus.sh
# -- exec job cost (issue 4, exec):
DAEMON_TESTS += tests/integration/test-daemon-exec-logs.sh
DAEMON_TESTS += tests/integration/test-daemon-exec-owner.sh
TESTS += $(DAEMON_TESTS)
EXTRA_DIST += $(DAEMON_TESTS) tests/lib-coopd.sh
# The daemon tests need coopd built first.
$(DAEMON_TESTS:.sh=.sh.log): coopd$(EXEEXT)

# `make check-daemon-valgrind`: the daemon tests with coopd under valgrind
# (errors and definite leaks fail the test).  An ASan build
# (configure --enable-asan) runs them with `make check` as usual.
COOPD_VALGRIND = valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite -q
check-daemon-valgrind:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(DAEMON_TESTS)" TEST_COOPD_WRAPPER="$(COOPD_VALGRIND)"
.PHONY: check-daemon-valgrind
# -- the references: docs/protocol.md, coopd.graph(5) (issue 18, docs):
DAEMON_TESTS += tests/integration/test-docs-reference.sh
EXTRA_DIST += docs/protocol.md
DAEMON_TESTS += tests/integration/test-docs-schema.sh
pkgdata_DATA += docs/coopd-graph.schema.json
EXTRA_DIST += docs/coopd-graph.schema.json examples/graphs/README.md
DAEMON_TESTS += tests/integration/test-daemon-too-deep.sh
DAEMON_TESTS += tests/integration/test-daemon-usage.sh
DAEMON_TESTS += tests/integration/test-daemon-defaults.sh
DAEMON_TESTS += tests/integration/test-daemon-live-stats.sh
DAEMON_TESTS += tests/integration/test-daemon-stop-clients.sh
# -- remove, retries, pause/resume, limits, rerun (issue 17):
daemon_libcoopd_la_SOURCES += daemon/method-remove.c
DAEMON_TESTS += tests/integration/test-daemon-remove.sh
# -- fair share (issue 15, conn): per-user counters; the tests as real users
daemon_libcoopd_la_SOURCES += daemon/util-uidcount.c daemon/util-uidcount.h
DAEMON_TESTS += tests/integration/test-daemon-fair-conn.sh
EXTRA_DIST += tests/lib-fairshare.sh
DAEMON_TESTS += tests/integration/test-daemon-fair-submit.sh
DAEMON_TESTS += tests/integration/test-daemon-fair-parse-share.sh
DAEMON_TESTS += tests/integration/test-daemon-fair-reads.sh
DAEMON_TESTS += tests/integration/test-daemon-fair-logs.sh
DAEMON_TESTS += tests/integration/test-daemon-fair-metrics.sh
DAEMON_TESTS += tests/integration/test-daemon-utf8-ids.sh
DAEMON_TESTS += tests/integration/test-daemon-fair-blocking.sh
DAEMON_TESTS += tests/integration/test-daemon-fair-soak.sh

# -- one owner, a safe state directory, subreaper identity (issues 14, 15: owner):
daemon_libcoopd_la_SOURCES += daemon/store-lock.c daemon/store-lock.h
daemon_libcoopd_la_SOURCES += daemon/job-logfile.c daemon/job-logfile.h
daemon_libcoopd_la_SOURCES += daemon/job-boot.c daemon/job-boot.h
DAEMON_TESTS += tests/integration/test-daemon-one-owner.sh
DAEMON_TESTS += tests/integration/test-daemon-statedir.sh
DAEMON_TESTS += tests/integration/test-daemon-races.sh
DAEMON_TESTS += tests/integration/test-daemon-owner-checks.sh
DAEMON_TESTS += tests/integration/test-daemon-subreaper-users.sh
# -- scripts/deps.sh never upgrades silently (issue 18, docs):
DAEMON_TESTS += tests/integration/test-deps-plan.sh
# -- the SQLite state store (issue 14, store):
daemon_libcoopd_la_SOURCES += daemon/store-db.c daemon/store-db.h \
	daemon/store-writer.c daemon/store-writer.h \
	daemon/store-import.c daemon/store-import.h
coopd_CPPFLAGS += $(SQLITE_CFLAGS)
coopd_LDADD += $(SQLITE_LIBS)
DAEMON_TESTS += tests/integration/test-daemon-store.sh
DAEMON_TESTS += tests/integration/test-daemon-store-import.sh
EXTRA_DIST += tests/fault-shim.c tests/data/store-v0-state.tar.gz \
	tests/data/store-v0-expected.json tests/data/store-v0-make.py
DAEMON_TESTS += tests/integration/test-daemon-store-faults.sh
DAEMON_TESTS += tests/integration/test-daemon-retries.sh
DAEMON_TESTS += tests/integration/test-daemon-job-limits.sh
EXTRA_DIST += docs/limits.md
daemon_libcoopd_la_SOURCES += daemon/method-rerun.c daemon/method-submit.h daemon/graph-reuse.c daemon/graph-reuse.h
DAEMON_TESTS += tests/integration/test-daemon-rerun.sh
# -- Slurm placement (issue 16): the parsing of Slurm's answers, unit-tested
# without a cluster (the cluster tests are `make check-slurm`, tests/local.mk).
check_PROGRAMS += tests/suite-daemon-slurm
tests_suite_daemon_slurm_SOURCES = tests/suite-daemon-slurm.c daemon/job-slurm-parse.c \
	daemon/util-strbuf.c
tests_suite_daemon_slurm_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon $(JSONC_CFLAGS)
tests_suite_daemon_slurm_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_suite_daemon_slurm_LDADD = proto/libcoopproto.la $(CHECK_LIBS) $(JSONC_LIBS)
TESTS += tests/suite-daemon-slurm
daemon_libcoopd_la_SOURCES += daemon/method-pause.c
DAEMON_TESTS += tests/integration/test-daemon-pause.sh
# -- the daemon's core as a library (issue 14 item 4, core): the runner
# driven without a socket or a store, a fake observer of graph events.
check_PROGRAMS += tests/suite-daemon-graph
tests_suite_daemon_graph_SOURCES = tests/suite-daemon-graph.c
tests_suite_daemon_graph_CPPFLAGS = $(coopd_CPPFLAGS)
tests_suite_daemon_graph_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_suite_daemon_graph_LDADD = $(coopd_LDADD) $(CHECK_LIBS)
tests_suite_daemon_graph_LDFLAGS = $(AM_LDFLAGS) -no-install
TESTS += tests/suite-daemon-graph
# -- big answers and submits off the loop's critical path (issue 15, stream):
DAEMON_TESTS += tests/integration/test-daemon-summary.sh
daemon_libcoopd_la_SOURCES += daemon/graph-stream.c daemon/graph-stream.h daemon/server-stream.c
DAEMON_TESTS += tests/integration/test-daemon-fair-answers.sh
daemon_libcoopd_la_SOURCES += daemon/store-reader.c daemon/store-reader.h daemon/server-park.c
DAEMON_TESTS += tests/integration/test-daemon-fair-readback.sh
# -- the SQLite state store (issue 14, store): the database alone, no daemon
check_PROGRAMS += tests/suite-store-db
tests_suite_store_db_SOURCES = tests/suite-store-db.c daemon/store-db.c
tests_suite_store_db_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon $(SQLITE_CFLAGS) \
	$(JSONC_CFLAGS)
tests_suite_store_db_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_suite_store_db_LDADD = proto/libcoopproto.la $(CHECK_LIBS) $(SQLITE_LIBS) $(JSONC_LIBS)
TESTS += tests/suite-store-db

# Big request lines parsed off the loop (issue 15 item 2, submitparse)
daemon_libcoopd_la_SOURCES += daemon/server-parse.c
DAEMON_TESTS += tests/integration/test-daemon-fair-submit-parse.sh

# -- layers (issue 14 item 4): loading at start-up above the store and the
# runner; a unit suite of it over a real database, no socket.
daemon_libcoopd_la_SOURCES += daemon/store-load.c daemon/store-load.h
check_PROGRAMS += tests/suite-daemon-load
tests_suite_daemon_load_SOURCES = tests/suite-daemon-load.c
tests_suite_daemon_load_CPPFLAGS = $(coopd_CPPFLAGS)
tests_suite_daemon_load_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_suite_daemon_load_LDADD = $(coopd_LDADD) $(CHECK_LIBS)
tests_suite_daemon_load_LDFLAGS = $(AM_LDFLAGS) -no-install
TESTS += tests/suite-daemon-load
daemon_libcoopd_la_SOURCES += daemon/server-gauges.c

# Small durable submits' CPU (issue 14, submitcpu): final states held back
# for the next commit
DAEMON_TESTS += tests/integration/test-daemon-store-settle.sh
# -- a damaged state database is moved aside (issue 14 item 2, storefault):
daemon_libcoopd_la_SOURCES += daemon/store-damage.c daemon/store-damage.h
DAEMON_TESTS += tests/integration/test-daemon-store-damage.sh

# -- hostile (session 6): rerun is the owner's alone (root's ran a user's
# argv as root)
DAEMON_TESTS += tests/integration/test-daemon-hostile-rerun.sh
# -- hostile (session 6): a job's nofile/cpu_seconds never raise coopd's own
# hard rlimits
DAEMON_TESTS += tests/integration/test-daemon-hostile-rlimits.sh
DAEMON_TESTS += tests/integration/test-daemon-hostile-spawn-stop.sh
# -- retention by bytes (issue 14 item 3, storefault):
DAEMON_TESTS += tests/integration/test-daemon-retention-bytes.sh

# Big submits without holding the loop (issue 15 item 2, bigsubmit)
daemon_libcoopd_la_SOURCES += daemon/reactor-loopstat.c daemon/reactor-loopstat.h
DAEMON_TESTS += tests/integration/test-daemon-fair-submit-slice.sh
DAEMON_TESTS += tests/integration/test-daemon-parse-thread.sh

# Active nodes per user (issue 15, activecap): max_active_nodes_per_user
DAEMON_TESTS += tests/integration/test-daemon-fair-nodes.sh

# -- rerun without holding the loop (issue 15 item 2, rerunoff): the document
# read, parsed and built on the state reader thread
DAEMON_TESTS += tests/integration/test-daemon-rerun-offloop.sh

# -- store faults at run time and at open (issue 14, faults): damage the
# writer meets while coopd runs
DAEMON_TESTS += tests/integration/test-daemon-store-damage-live.sh
# ... and an I/O error when the database is opened or read at start-up
DAEMON_TESTS += tests/integration/test-daemon-store-open-faults.sh

# -- the writer's hand-off (issue 14, walframes): a semaphore instead of a
# condition variable; every job applied and completed once, bursts, a stop
# with jobs queued (a real database and loop, no daemon).
check_PROGRAMS += tests/suite-store-writer
tests_suite_store_writer_SOURCES = tests/suite-store-writer.c
tests_suite_store_writer_CPPFLAGS = $(coopd_CPPFLAGS)
tests_suite_store_writer_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_suite_store_writer_LDADD = $(coopd_LDADD) $(CHECK_LIBS)
tests_suite_store_writer_LDFLAGS = $(AM_LDFLAGS) -no-install
TESTS += tests/suite-store-writer

# -- spoolclean (session 7): a deleted graph's Slurm spool directory is
# removed (daemon/job-slurm-spool.c, docs/slurm.md).
daemon_libcoopd_la_SOURCES += daemon/job-slurm-spool.c daemon/job-slurm-spool.h
check_PROGRAMS += tests/suite-daemon-slurm-spool
tests_suite_daemon_slurm_spool_SOURCES = tests/suite-daemon-slurm-spool.c \
	daemon/job-slurm-spool.c daemon/util-log.c
tests_suite_daemon_slurm_spool_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_suite_daemon_slurm_spool_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_suite_daemon_slurm_spool_LDADD = $(CHECK_LIBS)
TESTS += tests/suite-daemon-slurm-spool

# -- errno (session 8): a failed store call is named with the errno of the
# I/O call that failed, noted by a VFS wrapping SQLite's files
# (daemon/store-vfs.c; sqlite3_system_errno() lagged by one failure).
daemon_libcoopd_la_SOURCES += daemon/store-vfs.c daemon/store-vfs.h
tests_suite_store_db_SOURCES += daemon/store-vfs.c

# -- admission (session 8): max_active_bytes_per_user, the bytes of the
# stored documents of one user's active graphs (docs/security.md)
DAEMON_TESTS += tests/integration/test-daemon-fair-bytes.sh

# -- a job's process group is signalled only while its leader is unreaped (hostile review, pgid):
DAEMON_TESTS += tests/integration/test-daemon-pgid-reuse.sh

# -- outshare (session 8): answers shared per user and request lines
# dispatched in turns (docs/security.md, "Answers and turns")
daemon_libcoopd_la_SOURCES += daemon/server-turns.c
DAEMON_TESTS += tests/integration/test-daemon-fair-answer-share.sh
DAEMON_TESTS += tests/integration/test-daemon-fair-turns.sh
