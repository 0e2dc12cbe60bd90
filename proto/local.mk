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
