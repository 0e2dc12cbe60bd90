# examples: small programs that show how libcoop is used.
noinst_PROGRAMS += examples/scope-demo
examples_scope_demo_SOURCES = examples/scope-demo.c
examples_scope_demo_LDADD = lib/libcoop.la
examples_scope_demo_LDFLAGS = $(AM_LDFLAGS) -no-install
