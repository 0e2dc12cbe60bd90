# client: coopctl, the command-line client (coopctl(1)).  One command
# per cmd-*.c file, dispatched from cmd_table[] in coopctl.c; everything but
# main() goes into a convenience library so tests/suite-client.c can link it.
noinst_LTLIBRARIES += client/libcoopctl.la
client_libcoopctl_la_SOURCES = \
	client/coopctl.h client/coopctl.c \
	client/client-conn.h client/client-conn.c \
	client/client-output.h client/client-output.c \
	client/cmd-submit.c client/cmd-run.c client/cmd-status.c \
	client/cmd-list.c client/cmd-wait.c client/cmd-cancel.c \
	client/cmd-logs.c client/cmd-watch.c client/cmd-stats.c \
	client/cmd-metrics.c client/cmd-version.c client/cmd-ping.c
client_libcoopctl_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
client_libcoopctl_la_LIBADD = proto/libcoopproto.la $(JSONC_LIBS)

bin_PROGRAMS += coopctl
coopctl_SOURCES = client/coopctl-main.c
coopctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
coopctl_LDADD = client/libcoopctl.la proto/libcoopproto.la $(JSONC_LIBS)

dist_man_MANS += client/coopctl.1

# Unit tests of the pure parts (parsing, socket paths, rendering).
check_PROGRAMS += tests/suite-client
tests_suite_client_SOURCES = tests/suite-client.c
tests_suite_client_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CHECK_CFLAGS) \
	-I$(top_srcdir)/client
tests_suite_client_LDADD = client/libcoopctl.la proto/libcoopproto.la \
	$(JSONC_LIBS) $(CHECK_LIBS)

# Integration tests: the real coopd driven by the real coopctl.
COOPCTL_INTEGRATION_TESTS = \
	tests/integration/test-coopctl-basic.sh \
	tests/integration/test-coopctl-run.sh \
	tests/integration/test-coopctl-errors.sh \
	tests/integration/test-coopctl-follow.sh \
	tests/integration/test-coopctl-report.sh
TESTS += tests/suite-client $(COOPCTL_INTEGRATION_TESTS)
EXTRA_DIST += $(COOPCTL_INTEGRATION_TESTS)
# -- remove, retries, pause/resume, rerun (issue 17):
client_libcoopctl_la_SOURCES += client/cmd-remove.c
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-remove.sh
# -- issue 18 (client): status --format dot, completion, map, top.
client_libcoopctl_la_SOURCES += client/client-dot.h client/client-dot.c client/cmd-map.c client/cmd-top.c
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-dot.sh
# Shell completion (installed where bash-completion and zsh look).
dist_bashcompletion_DATA = client/completion/coopctl
dist_zshcompletion_DATA = client/completion/_coopctl
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-completion.sh
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-retries.sh
client_libcoopctl_la_SOURCES += client/cmd-rerun.c
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-rerun.sh
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-map.sh
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-top.sh
client_libcoopctl_la_SOURCES += client/cmd-pause.c
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-pause.sh
# -- cleanup (session 6): Ctrl-C around the submit, shared by run and map.
client_libcoopctl_la_SOURCES += client/client-interrupt.h client/client-interrupt.c
COOPCTL_INTEGRATION_TESTS += tests/integration/test-coopctl-run-interrupt.sh
