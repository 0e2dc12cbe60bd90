# proto: libcoopproto, the wire protocol (JSON-RPC framing, params, job-graph
# codec) shared by coopd and coopctl.  Knows json-c, nothing of libcoop.
noinst_LTLIBRARIES += proto/libcoopproto.la
proto_libcoopproto_la_SOURCES = \
	proto/protocol.h \
	proto/proto-frame.h proto/proto-frame.c \
	proto/proto-rpc.h proto/proto-rpc.c \
	proto/proto-graph.h proto/proto-graph.c \
	proto/proto-internal.h proto/proto-json.c proto/proto-params.c
proto_libcoopproto_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
proto_libcoopproto_la_LIBADD = $(JSONC_LIBS)

# Check suites of the protocol library.
PROTO_SUITES = tests/suite-proto-frame tests/suite-proto-rpc tests/suite-proto-graph
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
tests_suite_proto_graph_SOURCES = tests/suite-proto-graph.c
tests_suite_proto_graph_CFLAGS = $(PROTO_SUITE_CFLAGS)
tests_suite_proto_graph_CPPFLAGS = $(PROTO_SUITE_CPPFLAGS)
tests_suite_proto_graph_LDADD = $(PROTO_SUITE_LDADD)

# Test data and example graphs travel with the tarball.
EXTRA_DIST += tests/data/graphs-bad tests/data/graphs-good examples/graphs
