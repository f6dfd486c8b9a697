#!/usr/bin/env bash
# The portal's pages under load: `ulus up` with a synthetic Mongolia, the demo citizen logged in
# through the portal (Dan's login form, as a browser), and wrk on the public pages and the
# signed-in ones, side by side in one run with nginx serving the same home page as a static file
# (the ceiling for a page that needs no work). Also prints each page's size.
#   bench/portal.sh   (BENCH_PEOPLE=3500000 BENCH_DURATION=10s BENCH_CONNECTIONS=64)
# BENCH_DATA=DIR keeps the seeded country in DIR for the next run.
# Needs a release build: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build
# build/release
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
[ -x "$ulus" ] || { echo "build the release binary first (see the header)" >&2; exit 1; }
people=${BENCH_PEOPLE:-3500000}

work=$(mktemp -d /tmp/ulus-bench-portal.XXXXXX)
chmod 755 "$work"  # nginx's workers read the static copy
data=${BENCH_DATA:-$work/data}
port=18080
nginx_port=18091
trap 'kill $ulus_pid 2>/dev/null || true; stop_nginx "$work/nginx"; wait 2>/dev/null; rm -rf "$work"' EXIT

start_ulus_up "$data" "$people" 3
base="http://127.0.0.1:$port"

cookie=$(node "$BENCH_ROOT/bench/portal-session.mjs" "$base" "$data")
# One application, so "my applications" has a row and "who used my data" has reads.
csrf_page=$(curl -s -H "Cookie: $cookie; lang=en" "$base/catalogue/address-reference")
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$csrf_page" | head -1)
key=$(sed -n 's/.*name="key" value="\([^"]*\)".*/\1/p' <<<"$csrf_page" | head -1)
curl -s -o /dev/null -H "Cookie: $cookie" --data "csrf=$csrf&key=$key" \
  "$base/catalogue/address-reference/apply"

mkdir -p "$work/static"
curl -s -H "Cookie: lang=en" "$base/" >"$work/static/index.html"
start_nginx "$work/nginx" "$nginx_port" "$work/static"
wait_for_url "http://127.0.0.1:$nginx_port/index.html"

echo "$(date -u +%F), $(nproc) cores; ulus --threads ${ULUS_THREADS:-8}; wrk -t$BENCH_THREADS" \
  "-c$BENCH_CONNECTIONS -d$BENCH_DURATION"
echo
echo "| page | bytes |"
echo "|---|---:|"
for page in / "/catalogue?q=reference" /my/applications /my/data-usage /my/data /portal/style.css; do
  bytes=$(curl -s -H "Cookie: $cookie; lang=en" "$base$page" | wc -c)
  echo "| $page | $bytes |"
done
echo
rows=()
rows+=("$(run_wrk "nginx: the home page as a static file" "http://127.0.0.1:$nginx_port/index.html")")
rows+=("$(run_wrk "ulus: home (/), logged out" "$base/" -H "Cookie: lang=en")")
rows+=("$(run_wrk "ulus: catalogue search (/catalogue?q=reference)" "$base/catalogue?q=reference" -H "Cookie: lang=en")")
rows+=("$(run_wrk "ulus: my applications, signed in" "$base/my/applications" -H "Cookie: $cookie; lang=en")")
rows+=("$(run_wrk "ulus: who used my data, signed in" "$base/my/data-usage" -H "Cookie: $cookie; lang=en")")
rows+=("$(BENCH_CONNECTIONS=4 run_wrk "ulus: my data again within 5 minutes (kept reads), 4 connections" "$base/my/data" -H "Cookie: $cookie; lang=en")")
print_table "${rows[@]}"

# A first view of "my data" reads every registry through Khur (at most 4 reads at a time): time
# it for fresh sessions, one after another.
echo
times=()
for _ in 1 2 3 4 5 6 7; do
  fresh=$(node "$BENCH_ROOT/bench/portal-session.mjs" "$base" "$data")
  times+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Cookie: $fresh; lang=en" "$base/my/data")")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 * 1000 } END {
  printf "first view of my data (every registry through Khur), 7 fresh sessions: min %.1f ms, median %.1f ms, max %.1f ms\n", t[1], t[4], t[7] }'
