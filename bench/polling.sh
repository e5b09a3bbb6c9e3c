#!/usr/bin/env bash
# The polling benchmark (not part of CI): SOURCES sources on a loopback upstream of HOSTS
# addresses, polled by `vestnik poll` twice per run — first every source answers 200 with 20
# items (into an empty store), then 304 (the ETags it just saved). Prints wall time, requests
# per second, CPU seconds (user + system) and peak RSS of each cycle, per run and the median
# over RUNS runs, and the machine's load average before each cycle (the machine may be shared).
#
#   bench/polling.sh                      # 10,000 sources, 100 hosts, 3 runs, default settings
#   SOURCES=1000 RUNS=1 bench/polling.sh  # a quick look
#   SETTINGS='concurrency = 32' bench/polling.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCES=${SOURCES:-10000}
HOSTS=${HOSTS:-100}
RUNS=${RUNS:-3}
PORT=${PORT:-18480}
ITEMS=${ITEMS:-20}
SETTINGS=${SETTINGS:-}
TARGET=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet --bin vestnik --example bench_upstream
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
upstream_pid=
cleanup() {
    if [[ -n $upstream_pid ]]; then kill "$upstream_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$TARGET/release/examples/bench_upstream" "$PORT" "$HOSTS" "$ITEMS" >"$work/upstream.log" 2>&1 &
upstream_pid=$!
for _ in $(seq 100); do
    if curl -fsS -o /dev/null "http://127.0.0.$HOSTS:$PORT/feed/0" 2>/dev/null; then break; fi
    sleep 0.1
done

{
    printf '[settings]\ndata_dir = "data"\n%s\n\n' "$SETTINGS"
    for ((i = 0; i < SOURCES; i++)); do
        printf '[[source]]\nid = "s%d"\nurl = "http://127.0.0.%d:%d/feed/%d"\n\n' \
            "$i" $((i % HOSTS + 1)) "$PORT" "$i"
    done
} >"$work/feeds.toml"

# One cycle: `vestnik poll` under /usr/bin/time; prints
# "seconds requests/s cpu_seconds peak_MiB load statuses".
cycle() {
    local name=$1
    local status=0 load
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -v "$TARGET/release/vestnik" --config "$work/feeds.toml" poll \
        >"$work/$name.out" 2>"$work/$name.time" || status=$?
    if [[ $status -ne 0 && $status -ne 2 ]]; then
        echo "vestnik poll failed ($status):" >&2
        tail -5 "$work/$name.time" >&2
        exit 1
    fi
    local wall cpu rss statuses
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$work/$name.time")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$work/$name.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$work/$name.time")
    statuses=$(awk 'NR > 1 { count[$2]++ } END { for (s in count) printf "%s=%d ", s, count[s] }' "$work/$name.out")
    awk -v w="$wall" -v n="$SOURCES" -v c="$cpu" -v r="$rss" -v l="$load" -v s="$statuses" \
        'BEGIN { printf "%.2f %.0f %s %d %s %s\n", w, n / w, c, r, l, s }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "vestnik poll: $SOURCES sources on $HOSTS loopback hosts, $ITEMS items each, $RUNS runs; settings: ${SETTINGS:-defaults}"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
printf '%-6s %-5s %8s %10s %8s %8s %6s  %s\n' run cycle seconds "requests/s" "cpu s" "peak MiB" load statuses
for ((run = 1; run <= RUNS; run++)); do
    rm -rf "$work/data"
    for name in 200 304; do
        read -r wall rps cpu rss load statuses <<<"$(cycle "$name")"
        printf '%-6s %-5s %8s %10s %8s %8s %6s  %s\n' "$run" "$name" "$wall" "$rps" "$cpu" "$rss" "$load" "$statuses"
        echo "$wall $rps $cpu $rss" >>"$work/results.$name"
    done
    echo "store after run $run: $(du -sh "$work/data" | cut -f1)"
done
for name in 200 304; do
    printf '%-6s %-5s %8s %10s %8s %8s\n' median "$name" \
        "$(cut -d' ' -f1 "$work/results.$name" | median)" \
        "$(cut -d' ' -f2 "$work/results.$name" | median)" \
        "$(cut -d' ' -f3 "$work/results.$name" | median)" \
        "$(cut -d' ' -f4 "$work/results.$name" | median)"
done
