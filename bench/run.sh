#!/usr/bin/env bash
# Vestnik's benchmarks in one command (not part of CI): ingest, serve, memory, clustering.
# Needs wrk, nginx and python3 (apt-get install -y wrk nginx). Loopback only.
#   bench/run.sh [ingest|serve|memory|clustering|all]   (default: all)
# Figures go to stdout and to $OUT/results.txt; put them in BENCHMARKS.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHAT=${1:-all}
OUT=${BENCH_OUT:-/tmp/vestnik-bench}
RUNS=${BENCH_RUNS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
say() { echo "$*" | tee -a "$RESULTS"; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

say "== $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
cargo build --release --quiet --bin vestnik
BIN=$CARGO_TARGET_DIR/release/vestnik

if [[ $WHAT == all || $WHAT == ingest ]]; then
  python3 bench/gen.py "$OUT/data" --items-big 5000
  say "-- ingest: cargo bench --bench ingest -- $OUT/data/big.rss.xml $RUNS"
  cargo bench --quiet --bench ingest -- "$OUT/data/big.rss.xml" "$RUNS" | tee -a "$RESULTS"
fi

# One daemon on 1,000 sources x 100 items serves both the memory and the serve figures.
start_daemon() {
  python3 bench/gen.py "$OUT/data" --items-big 0 --sources 1000 --items 100
  UP=$(free_port); LISTEN=$(free_port)
  (cd "$OUT/data/sources" && exec python3 -m http.server "$UP" --bind 127.0.0.1 >/dev/null 2>&1) &
  PIDS+=($!)
  rm -rf "$OUT/daemon"; mkdir -p "$OUT/daemon"
  {
    printf '[settings]\nlisten = "127.0.0.1:%s"\ndata_dir = "data"\nbase_url = "http://127.0.0.1:%s"\nretention = "36500d"\ninterval = "6h"\n\n' "$LISTEN" "$LISTEN"
    for f in "$OUT"/data/sources/*.rss; do n=$(basename "$f" .rss); printf '[[source]]\nid = "%s"\nurl = "http://127.0.0.1:%s/%s.rss"\n\n' "$n" "$UP" "$n"; done
    sed -n '/^\[\[topic\]\]/,$p' feeds.toml
  } > "$OUT/daemon/feeds.toml"
  sleep 1
  local started=$(date +%s.%N)
  "$BIN" --config "$OUT/daemon/feeds.toml" run 2>"$OUT/daemon/log" &
  DAEMON=$!; PIDS+=($DAEMON)
  # Wait until every source has been polled once.
  for _ in $(seq 1 3600); do
    # Not listening yet is not an error (pipefail would end the script).
    ok=$({ curl -s "http://127.0.0.1:$LISTEN/healthz" || true; } | python3 -c 'import json,sys
try: d=json.load(sys.stdin); print(sum(1 for s in d["sources"] if s["status"]!="pending"))
except Exception: print(0)')
    [[ $ok -ge 1000 ]] && break
    sleep 0.5
  done
  POLL_SECS=$(echo "$(date +%s.%N) - $started" | bc)
}

if [[ $WHAT == all || $WHAT == memory || $WHAT == serve ]]; then
  start_daemon
  curl -s -o /dev/null "http://127.0.0.1:$LISTEN/feeds/all.rss"
  OK=$(curl -s "http://127.0.0.1:$LISTEN/healthz" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(s["status"]=="ok" for s in d["sources"]), d["entries"])')
  say "sources ok, entries stored: $OK"
  if [[ ${OK%% *} -lt 1000 ]]; then say "not every source was polled successfully; see $OUT/daemon/log"; exit 1; fi
  say "-- memory: vestnik run on 1000 sources x 100 items (python http.server upstream), all polled in ${POLL_SECS}s"
  say "peak RSS (VmHWM) after polling all and serving /feeds/all.rss: $(awk '/VmHWM/{printf "%.1f MiB", $2/1024}' /proc/$DAEMON/status) (goal: under 200 MB)"
fi

if [[ $WHAT == all || $WHAT == serve ]]; then
  FEED=$OUT/nginx/all.rss
  mkdir -p "$OUT/nginx"
  curl -s -D "$OUT/nginx/headers" -o "$FEED" "http://127.0.0.1:$LISTEN/feeds/all.rss"
  ETAG=$(awk -F': ' 'tolower($1)=="etag"{print $2}' "$OUT/nginx/headers" | tr -d '\r')
  NPORT=$(free_port)
  cat > "$OUT/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { application/rss+xml rss; }
  server { listen 127.0.0.1:$NPORT; root $OUT/nginx; etag on; }
}
CONF
  nginx -c "$OUT/nginx/nginx.conf" -g 'daemon off;' &
  PIDS+=($!)
  sleep 1
  NETAG=$(curl -s -D - -o /dev/null "http://127.0.0.1:$NPORT/all.rss" | awk -F': ' 'tolower($1)=="etag"{print $2}' | tr -d '\r')
  say "-- serve: wrk -t2 -c50 -d10s, $(stat -c %s "$FEED") bytes of /feeds/all.rss; nginx (worker_processes auto) on the same bytes; median of $RUNS"
  wrk_rps() { # url [etag]
    if [[ -n ${2:-} ]]; then wrk -t2 -c50 -d10s -H "If-None-Match: $2" "$1"
    else wrk -t2 -c50 -d10s "$1"; fi | awk '/Requests\/sec/{print $2}'
  }
  # Vestnik's and nginx's runs alternate (and which goes first alternates too), so that both see
  # the same machine: on this VM either server's rate drifts by a tenth between minutes.
  compare() { # label vestnik-url nginx-url [vestnik-etag nginx-etag]
    local vs=() ns=() v n
    for i in $(seq 1 "$RUNS"); do
      if (( i % 2 )); then v=$(wrk_rps "$2" "${4:-}"); n=$(wrk_rps "$3" "${5:-}")
      else n=$(wrk_rps "$3" "${5:-}"); v=$(wrk_rps "$2" "${4:-}"); fi
      vs+=("$v"); ns+=("$n")
    done
    local vm=$(printf '%s\n' "${vs[@]}" | median) nm=$(printf '%s\n' "${ns[@]}" | median)
    say "vestnik $1: median $vm req/s (runs: ${vs[*]})"
    say "nginx $1: median $nm req/s (runs: ${ns[*]})"
    say "ratio $1: $(echo "scale=2; $vm / $nm" | bc)x nginx (goal: at least 0.8x)"
  }
  compare plain "http://127.0.0.1:$LISTEN/feeds/all.rss" "http://127.0.0.1:$NPORT/all.rss"
  compare "If-None-Match (304)" "http://127.0.0.1:$LISTEN/feeds/all.rss" "http://127.0.0.1:$NPORT/all.rss" "$ETAG" "$NETAG"
  # Readers' latency while a monitor calls /healthz, which reads every source's state, in a loop.
  say "-- serve while /healthz is called in a loop: wrk -t2 -c50 -d10s --latency with If-None-Match"
  ( end=$((SECONDS + 11)); n=0
    while (( SECONDS < end )); do curl -s -o /dev/null "http://127.0.0.1:$LISTEN/healthz" || true; n=$((n + 1)); done
    echo "$n" > "$OUT/healthz-calls" ) &
  HEALTH=$!
  wrk -t2 -c50 -d10s --latency -H "If-None-Match: $ETAG" "http://127.0.0.1:$LISTEN/feeds/all.rss" > "$OUT/wrk-healthz.txt"
  wait "$HEALTH"
  say "$(awk '/Requests\/sec/{r=$2} /^ +50%/{a=$2} /^ +90%/{b=$2} /^ +99%/{c=$2} END {print r " req/s; latency p50 " a ", p90 " b ", p99 " c}' "$OUT/wrk-healthz.txt"), $(cat "$OUT/healthz-calls") /healthz calls meanwhile"
fi

# Issue 5's growth figure: a store grown to a million entries (about 5 minutes and 12 GB under
# $TMPDIR), each row measured alongside a fresh 10,000-entry store. CLUSTERING_ENTRIES=100000
# gives a quicker, smaller figure.
if [[ $WHAT == all || $WHAT == clustering ]]; then
  N=${CLUSTERING_ENTRIES:-1000000}
  say "-- clustering: cargo bench --bench clustering -- $N"
  cargo bench --quiet --bench clustering -- "$N" | tee -a "$RESULTS"
fi
