/*
 * bench-fib.c -- the serial fib below the cutoff, one copy for all.
 *
 * fib(35) with cutoff 20 spends nearly all its time here, so the three fib
 * programs must run the same machine code at the same alignment.  As an
 * inline function of bench-util.h each program had its own copy: the same
 * instructions at different offsets (0x16c0 in fib-coop, 0x2770 in
 * fib-tbb), and in three alternating pairs of processes fib-coop's copy
 * ran fib(32) in 8.15 ms against 7.74.  Serial code on this VM also moves
 * by up to 40 % from one process to the next, so that is no proof; but
 * it is a variable the comparison need not have.  This one C file is
 * compiled into every fib program, starting on a 64-byte boundary.
 */
#include "config.h"

#include "bench-fib.h"

__attribute__((noinline, aligned(64))) long bench_fib_leaf(int n)
{
	return n < 2 ? n : bench_fib_leaf(n - 1) + bench_fib_leaf(n - 2);
}
