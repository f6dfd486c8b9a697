#!/usr/bin/env bash
# The ceiling for every Ulus endpoint: wrk against the server's trivial JSON route (/healthz)
# and against nginx serving a static file with the same bytes, side by side in one run.
#   bench/http_ceiling.sh            (BENCH_DURATION=10s BENCH_CONNECTIONS=64 by default)
# Needs a release build: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
[ -x "$ulus" ] || { echo "build the release binary first (see the header)" >&2; exit 1; }
work=$(mktemp -d /tmp/ulus-bench.XXXXXX)
chmod 755 "$work"
trap 'kill $ulus_pid 2>/dev/null || true; stop_nginx "$work/nginx"; rm -rf "$work"' EXIT

"$ulus" --log-level warn --data "$work/data" serve --port 18080 --threads "${ULUS_THREADS:-2}" &
ulus_pid=$!
wait_for_url http://127.0.0.1:18080/healthz

mkdir -p "$work/www"
curl -s http://127.0.0.1:18080/healthz >"$work/www/healthz.json"
start_nginx "$work/nginx" 18081 "$work/www"
wait_for_url http://127.0.0.1:18081/healthz.json

echo "body: $(wc -c <"$work/www/healthz.json") bytes; wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION; $(nproc) cores"
nginx_row=$(run_wrk "nginx 1.22 static file" http://127.0.0.1:18081/healthz.json)
ulus_row=$(run_wrk "ulus /healthz" http://127.0.0.1:18080/healthz)
print_table "$nginx_row" "$ulus_row"
