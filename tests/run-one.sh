#!/bin/sh
# Runs one test for automake's harness.  Check suites and shell tests are both
# plain executables; Check's summary line ends up in the test's .log file.
exec "$@"
