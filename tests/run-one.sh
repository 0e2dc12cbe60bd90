#!/bin/sh
# Runs one test for automake's harness.  Check suites and shell tests are both
# plain executables; Check's summary line ends up in the test's .log file.
#
# Check ends a test that runs longer than its timeout (4 s unless the suite
# sets one).  That is a hang guard, not a speed requirement: under
# ThreadSanitizer on a busy 2-core machine a slow-but-correct test went
# past it, so the guard is 15 times longer unless the caller says otherwise.
: "${CK_TIMEOUT_MULTIPLIER:=15}"
export CK_TIMEOUT_MULTIPLIER
exec "$@"
