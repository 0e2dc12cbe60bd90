# bench/: benchmarks of libcoop against OpenMP tasks and oneTBB (issues 2
# and 3).  Nothing here is built by `make` or `make check`: `make bench`
# builds the programs with -O2 appended to CFLAGS/CXXFLAGS (last -O wins),
# then bench/run.sh runs them and prints a table of medians and ratios.
# Programs print results only; nothing asserts on time.

BENCH_COOP_LIBS = lib/libcoop.la
BENCH_COOP_LINKFLAGS = $(AM_LDFLAGS) -no-install
BENCH_CFLAGS = $(AM_CFLAGS) -O2
# (automake wants each program's SOURCES, CFLAGS, LDADD and LDFLAGS spelt
# out, so the blocks below stay alike; what they share is in these.)

# The first line of every bench rule's recipe: numbers of a sanitized
# build are not meaningful.  ($@ is the rule's own target.)
BENCH_SAN_WARNING = @test -z '$(SAN_CFLAGS)' || \
	echo '$@: WARNING: sanitized build ($(SAN_CFLAGS)); numbers are not meaningful'
# Where the daemon benchmarks find the programs under test.
BENCH_DAEMON_ENV = BENCH_DIR='$(abs_top_builddir)/bench' COOPD='$(abs_top_builddir)/coopd$(EXEEXT)' \
	COOPCTL='$(abs_top_builddir)/coopctl$(EXEEXT)'

BENCH_PROGS = bench/fib-coop bench/spawn-coop bench/pending-coop \
	bench/cancel-coop bench/probe-coop

bench_fib_coop_SOURCES = bench/fib-coop.c bench/bench-fib.c bench/bench-fib.h bench/bench-util.h
bench_fib_coop_CFLAGS = $(BENCH_CFLAGS)
bench_fib_coop_LDADD = $(BENCH_COOP_LIBS)
bench_fib_coop_LDFLAGS = $(BENCH_COOP_LINKFLAGS)

bench_spawn_coop_SOURCES = bench/spawn-coop.c bench/bench-util.h
bench_spawn_coop_CFLAGS = $(BENCH_CFLAGS)
bench_spawn_coop_LDADD = $(BENCH_COOP_LIBS)
bench_spawn_coop_LDFLAGS = $(BENCH_COOP_LINKFLAGS)

bench_pending_coop_SOURCES = bench/pending-coop.c bench/bench-util.h
bench_pending_coop_CFLAGS = $(BENCH_CFLAGS)
bench_pending_coop_LDADD = $(BENCH_COOP_LIBS)
bench_pending_coop_LDFLAGS = $(BENCH_COOP_LINKFLAGS)

bench_cancel_coop_SOURCES = bench/cancel-coop.c bench/bench-util.h
bench_cancel_coop_CFLAGS = $(BENCH_CFLAGS)
bench_cancel_coop_LDADD = $(BENCH_COOP_LIBS)
bench_cancel_coop_LDFLAGS = $(BENCH_COOP_LINKFLAGS)

bench_probe_coop_SOURCES = bench/probe-coop.c bench/bench-util.h
bench_probe_coop_CFLAGS = $(BENCH_CFLAGS)
bench_probe_coop_LDADD = $(BENCH_COOP_LIBS)
bench_probe_coop_LDFLAGS = $(BENCH_COOP_LINKFLAGS)

if HAVE_OPENMP
BENCH_PROGS += bench/fib-omp bench/spawn-omp
endif
bench_fib_omp_SOURCES = bench/fib-omp.c bench/bench-fib.c bench/bench-fib.h bench/bench-util.h
bench_fib_omp_CFLAGS = $(BENCH_CFLAGS) $(OPENMP_CFLAGS)
bench_fib_omp_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)

bench_spawn_omp_SOURCES = bench/spawn-omp.c bench/bench-util.h
bench_spawn_omp_CFLAGS = $(BENCH_CFLAGS) $(OPENMP_CFLAGS)
bench_spawn_omp_LDFLAGS = $(AM_LDFLAGS) $(OPENMP_CFLAGS)

if HAVE_TBB
BENCH_PROGS += bench/fib-tbb bench/spawn-tbb bench/cancel-tbb
endif
BENCH_TBB_CXXFLAGS = $(AM_CXXFLAGS) $(TBB_CFLAGS) -O2

bench_fib_tbb_SOURCES = bench/fib-tbb.cc bench/bench-fib.c bench/bench-fib.h bench/bench-util.h
bench_fib_tbb_CFLAGS = $(BENCH_CFLAGS)
bench_fib_tbb_CXXFLAGS = $(BENCH_TBB_CXXFLAGS)
bench_fib_tbb_LDADD = $(TBB_LIBS)

bench_spawn_tbb_SOURCES = bench/spawn-tbb.cc bench/bench-util.h
bench_spawn_tbb_CXXFLAGS = $(BENCH_TBB_CXXFLAGS)
bench_spawn_tbb_LDADD = $(TBB_LIBS)

bench_cancel_tbb_SOURCES = bench/cancel-tbb.cc bench/bench-util.h
bench_cancel_tbb_CXXFLAGS = $(BENCH_TBB_CXXFLAGS)
bench_cancel_tbb_LDADD = $(TBB_LIBS)

EXTRA_PROGRAMS += bench/fib-coop bench/spawn-coop bench/pending-coop \
	bench/cancel-coop bench/probe-coop bench/fib-omp bench/spawn-omp \
	bench/fib-tbb bench/spawn-tbb bench/cancel-tbb
CLEANFILES += $(BENCH_PROGS)
EXTRA_DIST += bench/run.sh bench/README.md bench/HISTORY.md

# BENCH_REPS (default 5) and BENCH_ONLY (a regex of bench names) are passed
# through the environment to run.sh.
bench:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' CXXFLAGS='$(CXXFLAGS) -O2' $(BENCH_PROGS)
	$(BENCH_SAN_WARNING)
	BENCH_DIR='$(abs_top_builddir)/bench' BENCH_PROGS='$(BENCH_PROGS)' \
		$(SHELL) '$(abs_top_srcdir)/bench/run.sh'

# ---- coopd (issue 4): the daemon benchmarks, bench/daemon-*.  `make bench`
# runs them before the libcoop ones (`bench: bench-daemon`); `make
# bench-daemon` runs only them.  BENCH_REPS and BENCH_ONLY (groups
# daemon-exec2k, daemon-noop100k, daemon-ping) apply as above.
BENCH_DAEMON_PROGS = bench/daemon-rpc bench/daemon-spawn

bench_daemon_rpc_SOURCES = bench/daemon-rpc.c bench/bench-util.h
bench_daemon_rpc_CFLAGS = $(BENCH_CFLAGS)

bench_daemon_spawn_SOURCES = bench/daemon-spawn.c bench/bench-util.h
bench_daemon_spawn_CFLAGS = $(BENCH_CFLAGS)

EXTRA_PROGRAMS += bench/daemon-rpc bench/daemon-spawn
CLEANFILES += $(BENCH_DAEMON_PROGS)
EXTRA_DIST += bench/daemon-run.sh

bench: bench-daemon
bench-daemon:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' coopd$(EXEEXT) coopctl$(EXEEXT) $(BENCH_DAEMON_PROGS)
	$(BENCH_SAN_WARNING)
	$(BENCH_DAEMON_ENV) $(SHELL) '$(abs_top_srcdir)/bench/daemon-run.sh'
.PHONY: bench-daemon

# ---- metrics (issue 8): what a Prometheus scrape costs, bench/daemon-scrape.*
# (one scrape of an idle coopd; a spawn-heavy graph with and without a
# 10 Hz scraper).  `make bench-scrape` runs only it; `make bench-daemon`
# (and so `make bench`) runs it first.  BENCH_REPS and BENCH_ONLY (groups
# scrape-one, scrape-load) apply as above.
bench_daemon_scrape_SOURCES = bench/daemon-scrape.c bench/bench-util.h
bench_daemon_scrape_CFLAGS = $(BENCH_CFLAGS)
EXTRA_PROGRAMS += bench/daemon-scrape
CLEANFILES += bench/daemon-scrape
EXTRA_DIST += bench/daemon-scrape.sh

bench-daemon: bench-scrape
bench-scrape:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' coopd$(EXEEXT) bench/daemon-rpc bench/daemon-scrape
	$(BENCH_SAN_WARNING)
	$(BENCH_DAEMON_ENV) $(SHELL) '$(abs_top_srcdir)/bench/daemon-scrape.sh'
.PHONY: bench-scrape

# ---- durability (issue 7): submit latency and submits/s from 1 and 16
# clients, state synced vs `fsync = no` (bench/daemon-durable.*; numbers in
# docs/durability.md).  `make bench-durable` runs only it; `make
# bench-daemon` (and so `make bench`) runs it first.
bench_daemon_durable_SOURCES = bench/daemon-durable.c bench/bench-util.h
bench_daemon_durable_CFLAGS = $(BENCH_CFLAGS)
EXTRA_PROGRAMS += bench/daemon-durable
CLEANFILES += bench/daemon-durable
EXTRA_DIST += bench/daemon-durable.sh

bench-daemon: bench-durable
bench-durable:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' coopd$(EXEEXT) bench/daemon-rpc bench/daemon-durable
	$(BENCH_SAN_WARNING)
	$(BENCH_DAEMON_ENV) $(SHELL) '$(abs_top_srcdir)/bench/daemon-durable.sh'
.PHONY: bench-durable

# ---- Slurm (issue 16): 200 exec nodes of /bin/true on a one-node cluster
# started for the run, coopd beside a shell loop of sbatch
# (bench/daemon-slurm.sh; needs root, slurm-wlm and munge, else it says
# why).  `make bench-slurm` runs only it; `make bench-daemon` (and so
# `make bench`) runs it too.  BENCH_REPS and BENCH_SLURM_JOBS apply.
EXTRA_DIST += bench/daemon-slurm.sh
bench-daemon: bench-slurm
bench-slurm:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' coopd$(EXEEXT)
	$(BENCH_SAN_WARNING)
	@$(BENCH_DAEMON_ENV) $(SHELL) '$(abs_top_srcdir)/bench/daemon-slurm.sh' || \
		{ rc=$$?; [ $$rc -eq 77 ] || exit $$rc; }
.PHONY: bench-slurm

# ---- coopctl map (issue 18): `coopctl map -j2` beside GNU parallel -j2 and
# xargs -P2 on 2,000 items, interleaved, medians (bench/map-compare.sh;
# numbers in bench/README.md).  `make bench-map` runs only it; `make bench`
# runs it too.  BENCH_REPS and BENCH_MAP_ITEMS apply.
EXTRA_DIST += bench/map-compare.sh
bench: bench-map
bench-map:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' coopd$(EXEEXT) coopctl$(EXEEXT)
	$(BENCH_SAN_WARNING)
	$(BENCH_DAEMON_ENV) $(SHELL) '$(abs_top_srcdir)/bench/map-compare.sh'
.PHONY: bench-map
# ---- the state store (issue 14, store): restart and `list` over 10,000
# retained graphs of 100 nodes (bench/daemon-restart.py; numbers in
# bench/README.md).  `make bench-restart` runs only it; `make bench-daemon`
# (and so `make bench`) runs it too.
EXTRA_DIST += bench/daemon-restart.py
bench-daemon: bench-restart
bench-restart:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' coopd$(EXEEXT)
	$(BENCH_SAN_WARNING)
	COOPD='$(abs_top_builddir)/coopd$(EXEEXT)' BENCH_RESTART_DIR='$(abs_top_builddir)/bench' \
		python3 '$(abs_top_srcdir)/bench/daemon-restart.py'
.PHONY: bench-restart
EXTRA_DIST += bench/daemon-exec-path.sh

# ---- exec jobs as another user beside a big graph (job-spawn.c: vfork,
# never fork): bench/daemon-spawn-user.sh (COOPD_BASE=OTHER/coopd for a
# before/after, interleaved).  `make bench-spawn-user` runs only it.
bench-daemon: bench-spawn-user
bench-spawn-user:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' coopd$(EXEEXT)
	$(BENCH_SAN_WARNING)
	@$(BENCH_DAEMON_ENV) $(SHELL) '$(abs_top_srcdir)/bench/daemon-spawn-user.sh'
.PHONY: bench-spawn-user
EXTRA_DIST += bench/daemon-spawn-user.sh

# ---- the state store's share of a one-client durable submit (issue 14,
# session 7): WAL frames per commit and system calls per submit per thread
# (strace), CPU per submit per thread (schedstat), COOPD_BASE=OTHER/coopd
# for a before/after, interleaved (bench/daemon-walframes.sh; numbers in
# bench/README.md).  `make bench-walframes` runs only it.
EXTRA_DIST += bench/daemon-walframes.sh
bench-walframes:
	$(MAKE) $(AM_MAKEFLAGS) CFLAGS='$(CFLAGS) -O2' coopd$(EXEEXT) bench/daemon-rpc bench/daemon-durable
	$(BENCH_SAN_WARNING)
	$(BENCH_DAEMON_ENV) $(SHELL) '$(abs_top_srcdir)/bench/daemon-walframes.sh'
.PHONY: bench-walframes

# Big submits and the loop (bench/README.md): run by hand, python3 bench/daemon-big*.py
EXTRA_DIST += bench/daemon-bigsubmit.py bench/daemon-bigwait.py
