# proto: libcoopproto, the wire protocol (JSON-RPC framing, params, job-graph
# codec) shared by coopd and coopctl.  Knows json-c, nothing of libcoop.
noinst_LTLIBRARIES += proto/libcoopproto.la
proto_libcoopproto_la_SOURCES = \
	proto/protocol.h \
	proto/proto-frame.h proto/proto-frame.c \
	proto/proto-rpc.h proto/proto-rpc.c \
	proto/proto-graph.h proto/proto-graph.c \
	proto/proto-jtree.h proto/proto-jtree.c \
	proto/proto-internal.h proto/proto-json.c proto/proto-params.c
proto_libcoopproto_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
proto_libcoopproto_la_LIBADD = $(JSONC_LIBS)

# Check suites of the protocol library.
PROTO_SUITES = tests/suite-proto-frame tests/suite-proto-rpc tests/suite-proto-graph \
	tests/suite-proto-jtree
check_PROGRAMS += $(PROTO_SUITES)
TESTS += $(PROTO_SUITES)
PROTO_SUITE_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS)
PROTO_SUITE_CPPFLAGS = $(AM_CPPFLAGS) \
	-DPROTO_TEST_SRCDIR='"$(abs_top_srcdir)"'
PROTO_SUITE_LDADD = proto/libcoopproto.la $(CHECK_LIBS) $(JSONC_LIBS)
tests_suite_proto_frame_SOURCES = tests/suite-proto-frame.c
tests_suite_proto_frame_CFLAGS = $(PROTO_SUITE_CFLAGS)
tests_suite_proto_frame_CPPFLAGS = $(PROTO_SUITE_CPPFLAGS)
tests_suite_proto_frame_LDADD = $(PROTO_SUITE_LDADD)
tests_suite_proto_rpc_SOURCES = tests/suite-proto-rpc.c
tests_suite_proto_rpc_CFLAGS = $(PROTO_SUITE_CFLAGS)
tests_suite_proto_rpc_CPPFLAGS = $(PROTO_SUITE_CPPFLAGS)
tests_suite_proto_rpc_LDADD = $(PROTO_SUITE_LDADD)
tests_suite_proto_graph_SOURCES = tests/suite-proto-graph.c tests/test-proto.h
tests_suite_proto_graph_CFLAGS = $(PROTO_SUITE_CFLAGS)
tests_suite_proto_graph_CPPFLAGS = $(PROTO_SUITE_CPPFLAGS)
tests_suite_proto_graph_LDADD = $(PROTO_SUITE_LDADD)
tests_suite_proto_jtree_SOURCES = tests/suite-proto-jtree.c tests/test-proto.h
tests_suite_proto_jtree_CFLAGS = $(PROTO_SUITE_CFLAGS)
tests_suite_proto_jtree_CPPFLAGS = $(PROTO_SUITE_CPPFLAGS)
tests_suite_proto_jtree_LDADD = $(PROTO_SUITE_LDADD)

# Test data and example graphs travel with the tarball.
EXTRA_DIST += tests/data/graphs-bad tests/data/graphs-good examples/graphs

# libFuzzer harness for the request decoder and the graph validator.  It is
# compiled by clang with its own flags (libFuzzer + ASan + UBSan), never by
# $(CC), so it stays out of the normal build.
#   make fuzz-proto        build tests/fuzz/fuzz-proto
#   make fuzz-proto-run    fuzz for FUZZ_PROTO_TIME seconds (default 600)
#   make fuzz-proto-short  60 s, what CI runs (also via `make fuzz-short`)
# New inputs go to tests/fuzz/corpus-proto-work in the build tree; the
# committed seeds in $(srcdir)/tests/fuzz/corpus-proto are only read.  A
# crash leaves tests/fuzz/crash-* behind: copy it into
# tests/fuzz/regress-proto/ with its fix; every `make check` replays that
# directory and the seeds (tests/fuzz/fuzz-proto-replay, tests/local.mk).
FUZZ_PROTO_SRCS = \
	$(top_srcdir)/tests/fuzz/fuzz-proto.c \
	$(top_srcdir)/proto/proto-frame.c $(top_srcdir)/proto/proto-rpc.c \
	$(top_srcdir)/proto/proto-graph.c $(top_srcdir)/proto/proto-json.c \
	$(top_srcdir)/proto/proto-jtree.c $(top_srcdir)/proto/proto-params.c
FUZZ_PROTO_HDRS = \
	$(top_srcdir)/proto/protocol.h $(top_srcdir)/proto/proto-frame.h \
	$(top_srcdir)/proto/proto-rpc.h $(top_srcdir)/proto/proto-graph.h \
	$(top_srcdir)/proto/proto-internal.h $(top_srcdir)/proto/proto-jtree.h
FUZZ_PROTO_TIME = 600
EXTRA_DIST += $(FUZZ_PROTO_SRCS:$(top_srcdir)/%=%) tests/fuzz/corpus-proto \
	tests/fuzz/fuzz-proto.dict
CLEANFILES += tests/fuzz/fuzz-proto

.PHONY: fuzz-proto fuzz-proto-run fuzz-proto-short fuzz-short
fuzz: fuzz-proto-run
fuzz-short: fuzz-proto-short

if HAVE_CLANG
tests/fuzz/fuzz-proto: $(FUZZ_PROTO_SRCS) $(FUZZ_PROTO_HDRS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(CLANG) -std=c11 -g -O1 -Wall -Wextra \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I$(top_builddir) -I$(top_srcdir)/proto $(JSONC_CFLAGS) \
		-o $@ $(FUZZ_PROTO_SRCS) $(JSONC_LIBS)

fuzz-proto: tests/fuzz/fuzz-proto

fuzz-proto-run: tests/fuzz/fuzz-proto
	@$(MKDIR_P) tests/fuzz/corpus-proto-work
	tests/fuzz/fuzz-proto -max_total_time=$(FUZZ_PROTO_TIME) -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix=tests/fuzz/ \
		-dict=$(top_srcdir)/tests/fuzz/fuzz-proto.dict \
		tests/fuzz/corpus-proto-work $(top_srcdir)/tests/fuzz/corpus-proto \
		$(top_srcdir)/tests/fuzz/regress-proto

fuzz-proto-short:
	$(MAKE) $(AM_MAKEFLAGS) fuzz-proto-run FUZZ_PROTO_TIME=60
else
fuzz-proto fuzz-proto-run fuzz-proto-short:
	@echo "fuzzing needs clang (not found by configure)" >&2; exit 1
endif
