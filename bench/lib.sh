# Shared by the benchmark scripts: nginx as the peer, wrk as the load, results as table rows.
# Sourced, not run. Everything listens on 127.0.0.1 only; every load is bounded in time.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_THREADS=${BENCH_THREADS:-2}

# start_nginx DIR PORT DOCROOT: nginx with one worker per core, keep-alive, no access log.
start_nginx() {
  local dir=$1 port=$2 docroot=$3
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  default_type application/json;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port;
    root $docroot;
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir"
}

stop_nginx() {
  local dir=$1
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
}

# wait_for_url URL: up to 30 s.
wait_for_url() {
  for _ in $(seq 300); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "not answering: $1" >&2
  return 1
}

# start_ulus_up DATA PEOPLE NODE_THREADS: `ulus up` in the background (ulus_pid; its output in
# $work/up.txt and up.err) with the calling script's $ulus and $work: PEOPLE people seeded into DATA
# unless it holds a country already, the platform on 127.0.0.1:$port with $ULUS_THREADS threads
# (default 8), Khur's nodes from port 18100 with $NODE_THREADS threads (default: the argument).
# Waits until it serves (up to 20 minutes, seeding included); exits when it stops first.
start_ulus_up() {
  local data=$1 people=$2 node_threads=${NODE_THREADS:-$3} started
  started=$(date +%s)
  # As scripts/up runs it (see there).
  GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.tcache_count=256} "$ulus" --log-level warn --data "$data" up --people "$people" --port "$port" \
    --threads "${ULUS_THREADS:-8}" --node-port 18100 --node-threads "$node_threads" \
    >"$work/up.txt" 2>"$work/up.err" &
  ulus_pid=$!
  for _ in $(seq 2400); do
    grep -q "Stop with Ctrl-C" "$work/up.txt" 2>/dev/null && break
    kill -0 "$ulus_pid" 2>/dev/null || { cat "$work/up.err" >&2; exit 1; }
    sleep 0.5
  done
  wait_for_url "http://127.0.0.1:$port/healthz"
  echo "ulus up with $people people ready in $(($(date +%s) - started)) s"
}

# run_wrk LABEL URL [wrk args...]: prints "LABEL|requests/s|p50|p99" from wrk --latency.
run_wrk() {
  local label=$1 url=$2
  shift 2
  local out
  out=$(wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$BENCH_DURATION" --latency "$@" "$url")
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  echo "$label|$rps|$p50|$p99|${errors:-none}"
}

# print_table ROW...: a markdown table with the ratio of each row to the first.
print_table() {
  local base
  base=$(cut -d'|' -f2 <<<"$1")
  echo "| server | requests/s | ratio to first | p50 | p99 | errors |"
  echo "|---|---:|---:|---:|---:|---|"
  for row in "$@"; do
    IFS='|' read -r label rps p50 p99 errors <<<"$row"
    ratio=$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
    echo "| $label | $rps | $ratio | $p50 | $p99 | $errors |"
  done
}
