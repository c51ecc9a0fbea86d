#!/usr/bin/env bash
# bench/cluster.sh (make bench-cluster) runs the cluster scenarios of
# docs/cluster.md against shardmq processes on 127.0.0.1 and prints their
# table: p2p QoS 0 on one node alone and with publishers and subscribers on
# two nodes of three (the ratio is the issue's 40 % floor), fan-in QoS 0
# with publishers on three nodes, and GET /clients page 1 with its exact
# count over ROWS offline sessions per node (the p50 and p99 of 200
# sequential GETs on one connection). Every node it starts is stopped by
# its PID at the end. Ports: BASE+1.. (MQTT), BASE+101.. (API), BASE+201..
# (routes), below the ephemeral range so other runs' connections do not
# take them.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin}
BASE=${BENCH_CLUSTER_BASE:-25500}
ROWS=${BENCH_CLUSTER_ROWS:-15000}
DURATION=${BENCH_CLUSTER_DURATION:-6s}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

mqtt() { echo $((BASE + $1)); }
api() { echo $((BASE + 100 + $1)); }
route() { echo $((BASE + 200 + $1)); }
load() { cut -d' ' -f1 /proc/loadavg; }

# start N: N nodes, each listing every route; returns when each accepts a
# persistent session (its client id claimed in the registry) or fails.
start() {
	local n=$1 join="" i
	echo 'bench:secret:administrator' >"$work/api_keys"
	for i in $(seq 1 "$n"); do join="$join,127.0.0.1:$(route "$i")"; done
	for i in $(seq 1 "$n"); do
		rm -rf "$work/n$i"
		local args=(--node "n$i" --data-dir "$work/n$i" --api-keys "$work/api_keys" --sys-interval 0
			--mqtt-addr "127.0.0.1:$(mqtt "$i")" --api-addr "127.0.0.1:$(api "$i")")
		if [ "$n" -gt 1 ]; then
			args+=(--cluster-listen "127.0.0.1:$(route "$i")" --cluster-join "${join#,}")
		fi
		"$BIN/shardmq" "${args[@]}" >"$work/n$i.log" 2>&1 &
		pids+=($!)
	done
	for i in $(seq 1 "$n"); do
		local ok=""
		for _ in $(seq 90); do
			if mosquitto_pub -p "$(mqtt "$i")" -q 1 -c -i "ready-$i" -t ready -n 2>/dev/null; then ok=1; break; fi
			sleep 1
		done
		if [ -z "$ok" ]; then
			echo "bench/cluster.sh: node n$i did not accept a client within 90 s:" >&2
			tail -n 5 "$work/n$i.log" >&2
			exit 1
		fi
	done
}

stop() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}

# rate SCENARIO TARGET [PUBLISH]: deliveries/s of one shardmq-bench run.
rate() {
	local extra=()
	if [ -n "${3:-}" ]; then extra=(--target-publish "$3"); fi
	"$BIN/shardmq-bench" --quiet --no-relay --repeats 1 --warmup 2s --duration "$DURATION" \
		--scenarios "$1" --target "$2" "${extra[@]}" --out "$work/out" >"$work/rate.txt" 2>&1 || true
	local r
	r=$(grep -m1 "| $1 | tcp://" "$work/rate.txt" | awk -F'|' '{gsub(/ /, "", $4); print $4}')
	if [ -z "$r" ]; then
		echo "bench/cluster.sh: $1 gave no figure:" >&2
		tail -n 5 "$work/rate.txt" >&2
		exit 1
	fi
	echo "$r"
}

# perSecond 12.3k → 12300
perSecond() { awk -v r="$1" 'BEGIN { m = 1; if (r ~ /k$/) m = 1000; if (r ~ /M$/) m = 1000000; sub(/[kM]$/, "", r); printf "%d", r * m }'; }

rows=()
row() { rows+=("| $1 | $2 | $3 |"); }

start 1
alone=$(rate p2p-qos0 "tcp://127.0.0.1:$(mqtt 1)")
row "p2p QoS 0, 100 pairs, one node alone" "$alone deliveries/s" "load $(load)"
fanAlone=$(rate fanin-qos0 "tcp://127.0.0.1:$(mqtt 1)")
row "fan-in QoS 0, 50 publishers, one node alone" "$fanAlone deliveries/s" "load $(load)"
stop

start 3
across=$(rate p2p-qos0 "tcp://127.0.0.1:$(mqtt 2)" "tcp://127.0.0.1:$(mqtt 1)")
pct=$(awk -v a="$(perSecond "$across")" -v b="$(perSecond "$alone")" 'BEGIN { printf "%d", 100 * a / b }')
row "p2p QoS 0, subscribers on n2, publishers on n1 (≥ 40 % of alone)" "$across deliveries/s, $pct % of alone" "load $(load)"
fan=$(rate fanin-qos0 "tcp://127.0.0.1:$(mqtt 1)" "tcp://127.0.0.1:$(mqtt 1),tcp://127.0.0.1:$(mqtt 2),tcp://127.0.0.1:$(mqtt 3)")
row "fan-in QoS 0, publishers on n1, n2, n3, subscriber on n1" "$fan deliveries/s" "load $(load)"

# ROWS offline sessions per node, the three nodes at once.
fills=()
for i in 1 2 3; do
	"$BIN/shardmq-bench" --quiet --no-relay --repeats 1 --warmup 0s --duration 1s --scenarios api-catalog \
		--catalog-rows "$ROWS" --client-prefix "n$i-" --target "tcp://127.0.0.1:$(mqtt "$i")" \
		--target-api "http://127.0.0.1:$(api "$i")" --api-key bench --api-secret secret \
		--out "$work/out" >"$work/fill$i.txt" 2>&1 &
	fills+=($!)
done
for p in "${fills[@]}"; do wait "$p" || true; done
want=$((3 * ROWS + 3)) # and the three ready-N sessions
count=""
for _ in $(seq 60); do
	count=$(curl -s -u bench:secret "http://127.0.0.1:$(api 1)/api/v5/clients?_limit=1" | grep -o '"count":[0-9]*' | cut -d: -f2 || true)
	[ "$count" = "$want" ] && break
	sleep 1
done
if [ "$count" != "$want" ]; then
	echo "bench/cluster.sh: the listing counts $count sessions, want $want" >&2
	exit 1
fi
for series in 1 2; do
	args=()
	for _ in $(seq 200); do args+=(-o /dev/null "http://127.0.0.1:$(api 1)/api/v5/clients?_limit=100"); done
	lat=$(curl -s -u bench:secret -w '%{http_code} %{time_total}\n' "${args[@]}" |
		awk '$1 != 200 { bad++ } { print $2 * 1000 } END { if (bad) print "bad", bad > "/dev/stderr" }' | sort -n |
		awk '{ a[NR] = $1 } END { printf "p50 %.1f ms, p99 %.1f ms", a[int(NR * 0.5)], a[int(NR * 0.99)] }')
	row "GET /clients?_limit=100 page 1, exact count $want (3 × $ROWS offline), series $series (p99 ≤ 50 ms)" "$lat" "load $(load)"
done
stop

echo "| scenario | result | machine |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
