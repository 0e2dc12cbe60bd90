/*
 * bench-fib.c -- the serial fib below the cutoff, one copy for all.
 *
 * fib(35) with cutoff 20 spends nearly all its time here, so the three fib
 * programs must run the same machine code at the same alignment.  As an
 * inline function of bench-util.h each program got its own copy: identical
 * instructions, but placed at different offsets, and the copy in fib-coop
 * ran fib(32) 5 % slower than the one in fib-tbb on this machine (8.15 ms
 * against 7.74, median of 15), which is a placement effect, not a runtime
 * one.  Here it is compiled from this one C file into every program, with
 * its start on a 64-byte boundary.
 */
#include "config.h"

#include "bench-fib.h"

__attribute__((noinline, aligned(64))) long bench_fib_leaf(int n)
{
	return n < 2 ? n : bench_fib_leaf(n - 1) + bench_fib_leaf(n - 2);
}
