# libcoop: the executor.  It depends on libc and pthreads only.
lib_LTLIBRARIES += lib/libcoop.la
include_HEADERS += lib/coop.h
lib_libcoop_la_SOURCES = \
	lib/coop.h \
	lib/coop-internal.h \
	lib/coop-blocking.c \
	lib/coop-combinators.c \
	lib/coop-deque.c \
	lib/coop-inject.c \
	lib/coop-rt.c \
	lib/coop-scope.c \
	lib/coop-slab.c \
	lib/coop-task.c \
	lib/coop-timer.c \
	lib/coop-waker.c
lib_libcoop_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden -O2
lib_libcoop_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0
