#!/usr/bin/env python3
"""Sums test results over automake build trees and prints "N passed, N failed".

A Check suite counts its individual checks (from the "Checks: X, Failures: F,
Errors: E" line that Check prints into the test's .log); any other test
(shell integration tests, a suite that died before its summary) counts once,
from the :test-result: of its .trs file.

Each failed test is named, with the last lines of its log, just above the
totals: a CI page that keeps only the tail of the output still says what
failed and why.
"""
import pathlib
import re
import sys

CHECK_LINE = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")

TAIL_LINES = 30

passed = failed = 0
failed_logs = []  # (log path, log text) of every test that failed
args = sys.argv[1:]
while args and args[0].startswith("--extra-"):
    if args[0] == "--extra-passed":
        passed += int(args[1])
    elif args[0] == "--extra-failed":
        failed += int(args[1])
    args = args[2:]
for top in args:
    for trs in sorted(pathlib.Path(top).rglob("*.trs")):
        log = trs.with_suffix(".log")
        text = log.read_text(errors="replace") if log.exists() else ""
        result = re.search(r"^:test-result: (\S+)", trs.read_text(errors="replace"), re.M)
        result = result.group(1) if result else "ERROR"
        checks = CHECK_LINE.findall(text)
        if checks:
            for total, failures, errors in checks:
                bad = int(failures) + int(errors)
                passed += int(total) - bad
                failed += bad
            # a suite that reported all checks passing but still failed
            # (sanitizer report, leak, crash at exit) counts as one failure
            if result in ("FAIL", "ERROR") and all(int(f) + int(e) == 0 for _, f, e in checks):
                failed += 1
        elif result in ("PASS", "XFAIL"):
            passed += 1
        elif result in ("FAIL", "ERROR", "XPASS"):
            failed += 1
        if result in ("FAIL", "ERROR", "XPASS"):
            failed_logs.append((log, text))
for log, text in failed_logs:
    print(f"\n--- FAILED: {log} (its last {TAIL_LINES} lines)")
    for line in text.splitlines()[-TAIL_LINES:]:
        print(f"    {line}")
if failed_logs:
    print()
print(f"{passed} passed, {failed} failed")
