#!/bin/bash
# The main job, from a fresh Debian 12 machine: install what is missing,
# build, start coopd on its embedded defaults, submit the example graph with
# coopctl, show its result and the executor's statistics, stop coopd.
#
#   bash scripts/demo.sh
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

bash scripts/deps.sh --if-missing
if [ ! -x build/coopd ] || [ ! -x build/coopctl ]; then
	autoreconf -fi >/dev/null 2>&1
	mkdir -p build
	(cd build && ../configure -q >/dev/null)
fi
make -s -C build -j"$(nproc)" >/dev/null

echo "== libcoop on its own (examples/scope-demo)"
./build/examples/scope-demo

echo
echo "== coopd on its embedded defaults"
./build/coopd --foreground &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do
	./build/coopctl version >/dev/null 2>&1 && break
	sleep 0.05
done
./build/coopctl version

echo
echo "== coopctl submit examples/graphs/demo.json"
id=$(./build/coopctl submit "$top/examples/graphs/demo.json")
echo "$id"
echo "== coopctl wait $id"
rc=0
./build/coopctl wait "$id" || rc=$?

echo
echo "== coopctl status $id"
./build/coopctl status "$id"

echo
echo "== coopctl logs $id hello"
./build/coopctl logs "$id" hello

echo
echo "== coopctl stats"
./build/coopctl stats

kill -TERM $pid
wait $pid
trap - EXIT
echo
echo "coopd stopped cleanly; the graph ended with exit code $rc"
exit $rc
