# systemd: the service and socket units, the sysusers.d entry for the
# `coopd` group and a commented sample /etc/coopd/coopd.conf, installed into
# the directories that pkg-config's systemd.pc names (configure.ac; override
# with ./configure SYSTEMD_UNITDIR=... SYSUSERSDIR=...).  DESTDIR is honoured.
systemdunitdir = $(SYSTEMD_UNITDIR)
systemdunit_DATA = systemd/coopd.service systemd/coopd.socket
sysusersdir = $(SYSUSERSDIR)
dist_sysusers_DATA = systemd/sysusers.d/coopd.conf
coopdconfdir = $(sysconfdir)/coopd
# distcheck installs below its own prefix, never into the host's /lib/systemd.
AM_DISTCHECK_CONFIGURE_FLAGS = SYSTEMD_UNITDIR='$${libdir}/systemd/system' \
	SYSUSERSDIR='$${libdir}/sysusers.d' TMPFILESDIR='$${libdir}/tmpfiles.d'

EXTRA_DIST += systemd/coopd.service.in systemd/coopd.socket systemd/coopd.conf
CLEANFILES += systemd/coopd.service

# Paths are filled in at make time (not by configure), so that
# `make prefix=...` gives a unit that starts the coopd it installs.
systemd/coopd.service: $(top_srcdir)/systemd/coopd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		$(top_srcdir)/systemd/coopd.service.in >$@.tmp && mv $@.tmp $@

# The sample config is installed only where none exists: an operator's
# settings survive a reinstall.
install-data-local: install-coopd-conf
install-coopd-conf:
	$(MKDIR_P) '$(DESTDIR)$(coopdconfdir)'
	if test ! -e '$(DESTDIR)$(coopdconfdir)/coopd.conf'; then \
		$(INSTALL_DATA) $(top_srcdir)/systemd/coopd.conf '$(DESTDIR)$(coopdconfdir)/coopd.conf'; \
	fi
uninstall-local: uninstall-coopd-conf
# Removed only while it is still the unchanged sample.
uninstall-coopd-conf:
	if cmp -s $(top_srcdir)/systemd/coopd.conf '$(DESTDIR)$(coopdconfdir)/coopd.conf'; then \
		rm -f '$(DESTDIR)$(coopdconfdir)/coopd.conf'; \
	fi
.PHONY: install-coopd-conf uninstall-coopd-conf

# Fast test (plain `make check`): systemd-analyze verify on the generated
# units.
SYSTEMD_TESTS = tests/systemd/test-units-verify.sh
TESTS += $(SYSTEMD_TESTS)
EXTRA_DIST += $(SYSTEMD_TESTS)
# (Through the variable: a literal X.sh.log target would replace the rule
# automake writes for it.)
$(SYSTEMD_TESTS:.sh=.sh.log): systemd/coopd.service coopd$(EXEEXT)

# `make check-systemd`: coopd under a real systemd booted in a container
# (tests/systemd/test-systemd-container.sh; root, debootstrap and
# systemd-nspawn; several minutes the first time, when it builds the cached
# root file system).  Not part of `make check`.  Run through automake's
# harness, so that it leaves a .log and .trs like every other test.
SYSTEMD_CONTAINER_TESTS = tests/systemd/test-systemd-container.sh
EXTRA_DIST += $(SYSTEMD_CONTAINER_TESTS)
if SANITIZED
CHECK_SYSTEMD_SANITIZED = yes
else
CHECK_SYSTEMD_SANITIZED = no
endif
# Automake writes a test's .log rule only for the tests listed in TESTS;
# this one is kept out of TESTS (not part of `make check`), so its rule is
# the one automake would write.
tests/systemd/test-systemd-container.sh.log: tests/systemd/test-systemd-container.sh
	@p='tests/systemd/test-systemd-container.sh'; \
	b='tests/systemd/test-systemd-container.sh'; \
	$(am__check_pre) $(LOG_DRIVER) --test-name "$$f" \
	--log-file $$b.log --trs-file $$b.trs \
	$(am__common_driver_flags) $(AM_LOG_DRIVER_FLAGS) $(LOG_DRIVER_FLAGS) -- $(LOG_COMPILE) \
	"$$tst" $(AM_TESTS_FD_REDIRECT)
check-systemd: all
	SANITIZED=$(CHECK_SYSTEMD_SANITIZED) MAKE='$(MAKE)' \
		$(MAKE) $(AM_MAKEFLAGS) check TESTS="$(SYSTEMD_CONTAINER_TESTS)"
.PHONY: check-systemd
