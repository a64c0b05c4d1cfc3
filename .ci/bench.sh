#!/usr/bin/env bash
# Benchmarks the server on this machine at Fedora scale and prints one table.
# For humans, not CI (CI is .ci/run). Takes about six minutes (five with
# SWAPS=0).
#
#   .ci/bench.sh [DIR]
#
# DIR holds Fedora-scale inputs written by
# `go run ./cmd/mirrorlist-fixtures -scale fedora -seed 1 -out DIR` with the
# current code (the request mix is drawn from the same seed, so it must
# match); without DIR they are generated into a temporary directory.
#
# The server runs pinned to CPU 0 and the load generator to CPU 1. The
# closed-loop rounds alternate between the server and two ceilings
# (do-nothing servers answering bodies of the server's mean size: what the
# HTTP stack and the loopback manage on this machine), one writing as a
# plain net/http handler does, the other with the server's gathered writes
# (headers and body in one system call, httpapi/gather). The table
# gives medians, so that a neighbour's burst on a shared machine skews one
# round, not the ratio. Two ratios are given: of throughputs, and of CPU time per
# request (user + system, from /proc). When the ceiling does not keep its
# CPU busy (see the per-round lines), the load generator limited it and the
# throughput ratio flatters the server; the CPU ratio does not depend on
# that. The last section measures reloads under load: a closed loop runs
# while forced reloads (POST /-/reload, every part rebuilt) alternate with
# windows of the same length without one (mirrorlist-loadgen swaps); it
# gives the medians over the reloads of p99 and max latency during a
# reload and without, and the server's peak RSS (VmHWM, reset before the
# first reload) across them. Each open-loop rate also runs against two
# one-write ceilings, one answering the mean size and one answering each
# target with the size of the server's answer to it; their p99 is printed
# beside the server's: the floor of this machine and loopback. Settings
# (environment):
#
#   ROUNDS=3      closed-loop rounds of each server
#   DURATION=8s   measured time of each run (after a warm-up)
#   CONNS=16      keep-alive connections of the load generator
#   RATES="2000 8000"  open-loop rates for the latency figures, requests/s
#   OPEN_ROUNDS=3 open-loop runs at each rate (the figures are medians)
#   REQUESTS=100000  size of the request mix
#   SWAPS=5       reloads under load (0: skip the section)
#   SERVER=       a mirrorlist-server binary to measure instead of this
#                 tree's (an older build, for before/after on the same inputs)
#
# Memory rows: the live heap the published snapshot holds (the server's
# mirrorlist_snapshot_live_bytes metric, after a collection; "n/a" for a
# server without it), the resident size idle after the load, and the
# largest resident size sampled every 100 ms during the closed-loop runs.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-16}
RATES=${RATES:-${RATE:-2000 8000}}
OPEN_ROUNDS=${OPEN_ROUNDS:-3}
REQUESTS=${REQUESTS:-100000}
SWAPS=${SWAPS:-5}
SEED=1

for tool in curl taskset; do
	command -v "$tool" >/dev/null || { echo "bench.sh: needs $tool" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then
	echo "bench.sh: needs two CPUs (server on CPU 0, load on CPU 1)" >&2
	exit 1
fi

work=$(mktemp -d /tmp/mirrorlist-bench.XXXXXX)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

log() { echo "bench.sh: $*" >&2; }

# value KEY FILE: the value of KEY=... on the summary line of a loadgen report.
value() { sed -n "s/^summary.* $1=\([^ ]*\).*/\1/p" "$2"; }

# median of the arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

log "building into $work"
if [ -n "${SERVER:-}" ]; then
	cp "$SERVER" "$work/mirrorlist-server"
else
	go build -o "$work/mirrorlist-server" ./cmd/mirrorlist-server
fi
go build -o "$work/mirrorlist-loadgen" ./cmd/mirrorlist-loadgen

dir=${1:-}
if [ -z "$dir" ]; then
	dir=$work/fedora
	log "generating the fedora inputs (seed $SEED)"
	go run ./cmd/mirrorlist-fixtures -scale fedora -seed "$SEED" -out "$dir" >/dev/null
fi
for f in mirrorlist_cache.proto global_netblocks.txt country_continent.csv GeoLite2-Country.mmdb; do
	[ -r "$dir/$f" ] || { log "$dir/$f is missing"; exit 1; }
done
"$work/mirrorlist-loadgen" mix -scale fedora -seed "$SEED" -n "$REQUESTS" -out "$work/mix"
probe=$(head -n 1 "$work/mix")

loadgen() { taskset -c 1 "$work/mirrorlist-loadgen" run -targets "$work/mix" -c "$CONNS" "$@"; }

# Start the server on CPU 0 and time it until it answers a request of the
# mix with something else than 503 (not loaded yet).
port=$((20000 + RANDOM % 20000))
admin=127.0.0.1:$((port + 1))
start=$(date +%s.%N)
taskset -c 0 "$work/mirrorlist-server" --listen 127.0.0.1 --port "$port" --admin-listen "$admin" \
	-c "$dir/mirrorlist_cache.proto" -g "$dir/global_netblocks.txt" \
	--cccsv "$dir/country_continent.csv" --geoip "$dir/GeoLite2-Country.mmdb" \
	-l "$work/access.log" 2>"$work/server.log" &
server=$!
pids+=("$server")
until code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$probe") && [ "$code" != 000 ] && [ "$code" != 503 ]; do
	kill -0 "$server" 2>/dev/null || { log "the server exited:"; cat "$work/server.log" >&2; exit 1; }
	sleep 0.02
done
ready=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
# The load's log line follows the first answer by the time the collection
# after the build takes: wait for it a little.
for _ in $(seq 50); do
	logged=$(grep -o '"\(load_time\|duration\)":"[^"]*"' "$work/server.log" | head -n 1 | cut -d'"' -f4 || true)
	[ -n "$logged" ] && break
	sleep 0.02
done
log "server ready in ${ready}s (its log: ${logged:-no load time})"

# metric NAME: a sample of the server's /metrics, or n/a.
metric() { curl -s "http://$admin/metrics" | awk -v n="$1" '$1 == n {print $2; found=1} END {if (!found) print "n/a"}'; }
mb() { case $1 in n/a) echo n/a ;; *) awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1048576}' ;; esac; }
sleep 1
rss_idle=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
snapshot_heap=$(metric mirrorlist_snapshot_live_bytes)
memory_limit=$(metric mirrorlist_memory_limit_bytes)
# Sample the server's resident size until the closed-loop runs end.
( while kill -0 "$server" 2>/dev/null; do awk '/^VmRSS/ {print $2}' "/proc/$server/status"; sleep 0.1; done ) >"$work/rss.samples" 2>/dev/null &
sampler=$!
pids+=("$sampler")

# closed NAME PID URL ROUND [ARGS]: one closed-loop run against URL, served
# by process PID, ARGS passed to the load generator; appends its figures to
# NAME's arrays. The process's CPU use over the run, divided by the answers
# per second, gives its user and system CPU time per request.
declare -A rps p99 usr sys
closed() {
	local name=$1 pid=$2 url=$3 round=$4 out="$work/$1.$4"
	shift 4
	local u0 s0 u1 s1 w0 w1 wall r hz
	hz=$(getconf CLK_TCK)
	read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
	w0=$(date +%s.%N)
	loadgen -target "$url" -warmup 2s -duration "$DURATION" "$@" >"$out"
	w1=$(date +%s.%N)
	read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
	wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN {print b - a}')
	r=$(value rps "$out")
	rps[$name]+=" $r"
	p99[$name]+=" $(value p99_ms "$out")"
	usr[$name]+=" $(awk -v t=$((u1 - u0)) -v hz="$hz" -v w="$wall" -v r="$r" 'BEGIN {printf "%.1f", 1e6 * t / hz / w / r}')"
	sys[$name]+=" $(awk -v t=$((s1 - s0)) -v hz="$hz" -v w="$wall" -v r="$r" 'BEGIN {printf "%.1f", 1e6 * t / hz / w / r}')"
	log "round $round: $name $r req/s, p99 $(value p99_ms "$out") ms, CPU busy $(awk -v t=$((u1 - u0 + s1 - s0)) -v hz="$hz" -v w="$wall" 'BEGIN {printf "%.0f", 100 * t / hz / w}')%"
}

# Closed loop: alternate the server and the ceiling; the ceiling starts
# after the first server round, which gives the mean body size and the
# size of each target's answer.
for round in $(seq "$ROUNDS"); do
	sizes_out=()
	[ "$round" = 1 ] && sizes_out=(-sizes-out "$work/sizes")
	closed server "$server" "http://127.0.0.1:$port" "$round" "${sizes_out[@]}"
	if [ "$round" = 1 ]; then
		body=$(value mean_body "$work/server.1")
		taskset -c 0 "$work/mirrorlist-loadgen" ceiling -listen 127.0.0.1:0 -body-size "$body" >"$work/ceiling.out" &
		ceiling_pid=$!
		taskset -c 0 "$work/mirrorlist-loadgen" ceiling -gather -listen 127.0.0.1:0 -body-size "$body" >"$work/gathered.out" &
		gathered_pid=$!
		pids+=("$ceiling_pid" "$gathered_pid")
		until ceiling=$(sed -n 's/^listening on //p' "$work/ceiling.out") && [ -n "$ceiling" ]; do sleep 0.02; done
		until gathered=$(sed -n 's/^listening on //p' "$work/gathered.out") && [ -n "$gathered" ]; do sleep 0.02; done
	fi
	closed ceiling "$ceiling_pid" "$ceiling" "$round"
	closed gathered "$gathered_pid" "$gathered" "$round"
done

kill "$sampler" 2>/dev/null || true
rss_load=$(sort -n "$work/rss.samples" | tail -n 1)

# Open loop at fixed rates: the latency clients see at a realistic load.
# Two one-write ceilings run at each rate too, right after the server: the
# one answering the mean size, and one answering each target with the size
# of the server's answer to it (run -sizes-out, ceiling -sizes), whose tail
# holds the mix's largest answers as the server's does. Their p99 is the
# floor this machine and loopback set, whatever the handler does (on a
# shared machine a neighbour's stall of a few milliseconds lands in the
# tail of all three).
kill "$ceiling_pid" 2>/dev/null || true # the closed loop is done with it
taskset -c 0 "$work/mirrorlist-loadgen" ceiling -gather -listen 127.0.0.1:0 -body-size "$body" -sizes "$work/sizes" >"$work/sized.out" &
pids+=($!)
until sized=$(sed -n 's/^listening on //p' "$work/sized.out") && [ -n "$sized" ]; do sleep 0.02; done
opens=()
for round in $(seq "$OPEN_ROUNDS"); do
	for rate in $RATES; do
		loadgen -target "http://127.0.0.1:$port" -warmup 1s -duration "$DURATION" -rate "$rate" >"$work/open.$rate.$round"
		loadgen -target "$gathered" -warmup 1s -duration "$DURATION" -rate "$rate" >"$work/open-ceiling.$rate.$round"
		loadgen -target "$sized" -warmup 1s -duration "$DURATION" -rate "$rate" >"$work/open-sized.$rate.$round"
		opens+=("$work/open.$rate.$round" "$work/open-ceiling.$rate.$round" "$work/open-sized.$rate.$round")
		log "open round $round at $rate req/s: p99 server $(value p99_ms "$work/open.$rate.$round"), ceiling $(value p99_ms "$work/open-ceiling.$rate.$round"), sized ceiling $(value p99_ms "$work/open-sized.$rate.$round") ms"
	done
done
# openmedian NAME RATE KEY: the median over the open-loop rounds of KEY in NAME's
# runs at RATE (NAME: open, open-ceiling or open-sized).
openmedian() {
	local vals=() f
	for f in "$work/$1.$2".*; do vals+=("$(value "$3" "$f")"); done
	median "${vals[@]}"
}
rss_after=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")

# Reloads under load.
runs=("$work"/server.* "$work"/ceiling.[0-9]* "$work"/gathered.[0-9]* "${opens[@]}")
if [ "$SWAPS" -gt 0 ]; then
	log "$SWAPS reloads under a closed loop"
	taskset -c 1 "$work/mirrorlist-loadgen" swaps -target "http://127.0.0.1:$port" -reload "http://$admin/-/reload" \
		-targets "$work/mix" -c "$CONNS" -swaps "$SWAPS" -pid "$server" >"$work/swaps"
	sed -n 's/^reload [0-9]*: .*/bench.sh: &/p' "$work/swaps" >&2
	runs+=("$work/swaps")
fi
errors=$(cat "${runs[@]}" | sed -n 's/^summary.* errors=\([0-9]*\).*/\1/p' | awk '{n += $1} END {print n}')

# shellcheck disable=SC2086 # the arrays are space-separated lists
srv=$(median ${rps[server]}) ceil=$(median ${rps[ceiling]}) gath=$(median ${rps[gathered]})
row() { printf '| %-44s | %20s |\n' "$1" "$2"; }
# The headline first: how near the server comes to what the machine can
# send, what it sends, and what a request costs it.
# shellcheck disable=SC2086
{
echo "server / one-write ceiling: $(awk -v s="$srv" -v c="$gath" 'BEGIN {printf "%.0f%%", 100 * s / c}') of the throughput ($(printf '%.0f' "$srv") vs $(printf '%.0f' "$gath") req/s, medians of $ROUNDS rounds)"
echo "answer sizes of the mix: mean $body B, p50 $(value p50_body "$work/server.1") B, p90 $(value p90_body "$work/server.1") B (the ceilings answer the mean)"
echo "server CPU per request: $(median ${usr[server]}) us user + $(median ${sys[server]}) us system (one-write ceiling: $(median ${usr[gathered]}) + $(median ${sys[gathered]}))"
for rate in $RATES; do
	echo "open loop at $rate req/s: p99 $(openmedian open "$rate" p99_ms) ms (one-write ceiling: $(openmedian open-ceiling "$rate" p99_ms) ms at the mean size, $(openmedian open-sized "$rate" p99_ms) ms at each answer's size; medians of $OPEN_ROUNDS runs)"
done
}
echo
echo "mirrorlist-server at Fedora scale: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), server on CPU 0, load on CPU 1;"
echo "$REQUESTS-request mix (seed $SEED), $CONNS connections, $DURATION per run, medians of $ROUNDS closed-loop rounds, $(go env GOVERSION)"
echo
row "measure" "value"
printf '|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..22})"
row "load time (start to first answer)" "$ready s"
row "retained snapshot heap (live, after GC)" "$(mb "$snapshot_heap")"
row "  soft memory limit set" "$(case $memory_limit in n/a|+Inf) echo "$memory_limit" ;; *) mb "$memory_limit" ;; esac)"
row "RSS idle (after the load)" "$(( rss_idle / 1024 )) MB"
row "RSS under closed-loop load (max of samples)" "$(( ${rss_load:-0} / 1024 )) MB"
row "steady RSS (after warm-up and load)" "$(( rss_after / 1024 )) MB"
row "peak RSS (VmHWM)" "$(( hwm / 1024 )) MB"
# shellcheck disable=SC2086
{
row "closed loop" "$(printf '%.0f' "$srv") req/s"
row "  its p99" "$(printf '%.2f' "$(median ${p99[server]})") ms"
row "  server CPU per request, user + system" "$(median ${usr[server]}) + $(median ${sys[server]}) us"
for rate in $RATES; do
	row "p99 at $rate req/s, open loop" "$(openmedian open "$rate" p99_ms) ms"
	row "p99.9 at $rate req/s, open loop" "$(openmedian open "$rate" p999_ms) ms"
	row "  one-write ceiling's p99 / p99.9 there" "$(openmedian open-ceiling "$rate" p99_ms) / $(openmedian open-ceiling "$rate" p999_ms) ms"
	row "  the same at each answer's size" "$(openmedian open-sized "$rate" p99_ms) / $(openmedian open-sized "$rate" p999_ms) ms"
done
row "ceiling, plain net/http ($body B answers)" "$(printf '%.0f' "$ceil") req/s"
row "  its CPU per request, user + system" "$(median ${usr[ceiling]}) + $(median ${sys[ceiling]}) us"
row "ceiling, one write per answer, as the server" "$(printf '%.0f' "$gath") req/s"
row "  its CPU per request, user + system" "$(median ${usr[gathered]}) + $(median ${sys[gathered]}) us"
}
# ratio NAME: the server's throughput and CPU per request against NAME's.
ratio() {
	# shellcheck disable=SC2086
	awk -v s="$srv" -v c="$(median ${rps[$1]})" -v su="$(median ${usr[server]})" -v ss="$(median ${sys[server]})" \
		-v cu="$(median ${usr[$1]})" -v cs="$(median ${sys[$1]})" \
		'BEGIN {printf "%.0f%% / %.0f%%", 100 * s / c, 100 * (cu + cs) / (su + ss)}'
}
row "server / plain ceiling, throughput / CPU" "$(ratio ceiling)"
row "server / one-write ceiling, throughput / CPU" "$(ratio gathered)"
if [ "$SWAPS" -gt 0 ]; then
	sw=$work/swaps
	row "reload under load: p99 during / steady" "$(value p99_swap_ms "$sw") / $(value p99_steady_ms "$sw") ms"
	row "  p99 ratio (median of $SWAPS reloads)" "$(value p99_ratio "$sw")"
	row "  max during / steady" "$(value max_swap_ms "$sw") / $(value max_steady_ms "$sw") ms"
	row "  build under load, POST to answer" "$(value build_s "$sw") s"
	row "  RSS before / peak across the reloads" "$(value rss_before_mb "$sw") / $(value hwm_mb "$sw") MB"
fi
row "failed requests (all runs)" "$errors"
for rate in $RATES; do
	missed=$(cat "$work/open.$rate".* | sed -n 's/^summary.* missed=\([0-9]*\).*/\1/p' | awk '{n += $1} END {print n}')
	if [ "$missed" != 0 ]; then
		echo "open loop at $rate req/s: $missed requests due were never sent over $OPEN_ROUNDS runs (the server fell behind)"
	fi
done
