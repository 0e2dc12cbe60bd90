#!/usr/bin/env python3
"""Call cycles between daemon/ source files, from their object files.

Usage: scripts/daemon-cycles.py 'BUILD/daemon/.libs/libcoopd_la-*.o' [-v]
(before the library: 'BUILD/daemon/coopd-*.o').  docs/architecture.md
("The daemon's layout") has the figures and how they were made.

Each object file defines (nm: T/D/B/R) and uses (nm: U) symbols; file A
calls file B when A uses a symbol B defines.  The strongly connected
components of that graph with more than one file are the call cycles
(Tarjan's algorithm); -v lists each cycle's edges.
"""
import collections
import glob
import os
import re
import subprocess
import sys

def objects(pattern):
    return sorted(glob.glob(pattern))

def name_of(path):
    b = os.path.basename(path)
    b = re.sub(r'^(coopd-|libcoopd_la-)', '', b)
    return b[:-2] + '.c'

def main():
    files = objects(sys.argv[1])
    defs, uses = {}, collections.defaultdict(set)
    for f in files:
        out = subprocess.run(['nm', f], capture_output=True, text=True).stdout
        n = name_of(f)
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == 'U':
                uses[n].add(parts[1])
            elif len(parts) == 3 and parts[1] in 'TDBR':
                defs[parts[2]] = n
    graph = {name_of(f): set() for f in files}
    for n, us in uses.items():
        for s in us:
            t = defs.get(s)
            if t and t != n:
                graph[n].add(t)
    # Tarjan
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)
    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop(); on.discard(w); c.append(w)
                if w == v: break
            sccs.append(sorted(c))
    for v in sorted(graph):
        if v not in index:
            strong(v)
    cyc = [c for c in sccs if len(c) > 1]
    print(f"{len(graph)} files, {sum(len(v) for v in graph.values())} file-to-file edges")
    for c in sorted(cyc, key=len, reverse=True):
        print(f"cycle of {len(c)}: {' '.join(c)}")
    if '-v' in sys.argv:
        for c in cyc:
            for a in c:
                print('  ', a, '->', ' '.join(sorted(b for b in graph[a] if b in c)))

main()
