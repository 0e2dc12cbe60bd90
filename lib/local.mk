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

# libcoop.pc for pkg-config (issue 18): written by make from the installation
# directories (configure.ac stays as it is), so that `pkg-config --cflags
# --libs libcoop` finds the installed header and library.  The paths are
# those of this build's prefix; PKG_CONFIG_SYSROOT_DIR relocates them for a
# DESTDIR or sysroot.  -pthread is private: a program that links libcoop
# dynamically needs only -lcoop.
pkgconfig_DATA += lib/libcoop.pc
CLEANFILES += lib/libcoop.pc
lib/libcoop.pc: Makefile
	$(AM_V_GEN)$(MKDIR_P) lib && { \
	  echo 'prefix=$(prefix)'; \
	  echo 'libdir=$(libdir)'; \
	  echo 'includedir=$(includedir)'; \
	  echo; \
	  echo 'Name: libcoop'; \
	  echo 'Description: scoped parallel executor with cancellation and cooperation budgets'; \
	  echo 'Version: $(PACKAGE_VERSION)'; \
	  echo 'Libs: -L$${libdir} -lcoop'; \
	  echo 'Libs.private: $(AX_PTHREAD_CFLAGS)'; \
	  echo 'Cflags: -I$${includedir}'; \
	} > $@-t && mv $@-t $@
TESTS += tests/integration/test-libcoop-pkgconfig.sh
EXTRA_DIST += tests/integration/test-libcoop-pkgconfig.sh
