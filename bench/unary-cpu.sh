#!/usr/bin/env bash
# The server's CPU per unary Append, the store (fsync on) against the
# no-storage transport ceiling, with ghz as the client: what the unary target
# (>= 0.9 x the ceiling) asks of the store, taken apart from the client.
#
#   npm run build && bash bench/install-tools.sh && bash bench/unary-cpu.sh [pairs]
#
# Each pair starts a fresh ceiling and a fresh store (new data directory),
# warms each up with 5 s of ghz at concurrency 64 (200-byte events, as in the
# suite's headline), then runs 5 s more and reads the server's CPU time from
# /proc: all its threads, and its main thread alone. Prints one line a server.
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-3}
ghz=.tools/bin/ghz
[ -x "$ghz" ] || { echo "no $ghz: run bash bench/install-tools.sh first" >&2; exit 2; }
[ -f dist/bench/ceilingServer.js ] || { echo "not built: run npm run build first" >&2; exit 2; }
hz=$(getconf CLK_TCK)

# utime + stime, in clock ticks: of the whole process, or of its main thread.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
main_ticks() { awk '{print $14 + $15}' "/proc/$1/task/$1/stat"; }

# ghz against `address` for 5 s; prints the number of calls answered OK.
load() {
  "$ghz" --insecure --protoset server/gen/descriptor.binpb \
    --call edupulse.eventstore.v1.EventStoreService.Append -c 64 -z 5s -O json \
    -d '{"stream":"ghz-{{.WorkerID}}","events":[{"type":"bench.Event","contentType":"application/octet-stream","data":"{{randomString 267}}="}]}' \
    "$1" | node -e 'let s = ""; process.stdin.on("data", d => (s += d)).on("end", () => console.log(JSON.parse(s).statusCodeDistribution.OK ?? 0))'
}

# measure NAME COMMAND...: starts the server, loads it, prints its CPU per call.
measure() {
  local name=$1 out pid address ok t0 m0 t1 m1
  shift
  out=$(mktemp)
  "$@" >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    address=$(sed -nE 's/^(EDUPULSE|CEILING)_LISTENING (\S+).*/\2/p' "$out")
    [ -n "$address" ] && break
    sleep 0.1
  done
  [ -n "$address" ] || { cat "$out" >&2; kill "$pid"; exit 1; }
  load "$address" >/dev/null
  t0=$(cpu_ticks "$pid") m0=$(main_ticks "$pid")
  ok=$(load "$address")
  t1=$(cpu_ticks "$pid") m1=$(main_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
  [ "$ok" -gt 0 ] || { echo "$name answered no call" >&2; exit 1; }
  node -e "
    const [ok, all, main, hz] = process.argv.slice(1).map(Number);
    const us = ticks => ((ticks / hz) * 1e6 / ok).toFixed(0);
    console.log('$name'.padEnd(8), (ok / 5).toFixed(0).padStart(6), 'calls/s, server CPU', us(all).padStart(4), 'us a call, main thread', us(main).padStart(4), 'us');
  " "$ok" "$((t1 - t0))" "$((m1 - m0))" "$hz"
}

for _ in $(seq 1 "$pairs"); do
  data=$(mktemp -d)
  measure ceiling node dist/bench/ceilingServer.js 200
  measure store node --initial-old-space-size=64 dist/cli/main.js serve --port 0 --metrics-port off --data-dir "$data" --log-level warn
  rm -rf "$data"
done
