#!/usr/bin/env bash
# Automatic applications completed per second end to end, and where their time goes: `ulus up`
# with a synthetic Mongolia, a demo citizen's Dan access token, and services_load applying for an
# automatic service again and again (Dan token check, three Khur reads through the platform's node
# and the civil registry's node, claims, the document signed and recorded, the application
# recorded), then fetching each document's PDF. The server's own step times come from its
# ulus_services_step_seconds histograms, read before and after the run.
#   bench/services.sh   (BENCH_PEOPLE=3500000 BENCH_DURATION=20 BENCH_SERVICE=address-reference)
# BENCH_DATA=DIR keeps the seeded country in DIR for the next run (seeding 3.5 million people
# takes about five minutes).
# Needs a release build with benchmarks: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
#   -DULUS_BUILD_BENCHMARKS=ON && cmake --build build/release
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
load=${SERVICES_LOAD:-$BENCH_ROOT/build/release/bench/services_load}
for f in "$ulus" "$load"; do
  [ -x "$f" ] || { echo "build the release binary and benchmarks first (see the header)" >&2; exit 1; }
done
people=${BENCH_PEOPLE:-3500000}
duration=${BENCH_DURATION:-20}
service=${BENCH_SERVICE:-address-reference}
work=$(mktemp -d /tmp/ulus-bench.XXXXXX)
data=${BENCH_DATA:-$work/data}
port=18080
trap 'kill $ulus_pid 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT

start_ulus_up "$data" "$people" 3
base="http://127.0.0.1:$port"

node "$BENCH_ROOT/tests/oidc_client/mint-refresh-tokens.mjs" "$base" "$data" 1 demo-portal \
  "openid services documents" access >"$work/tokens.txt"

# step_sums: "step sum count" per step of ulus_services_step_seconds.
step_sums() {
  curl -s "$base/metrics" | awk '
    /^ulus_services_step_seconds_sum/ { match($0, /step="[a-z]+"/); s = substr($0, RSTART + 6, RLENGTH - 7); sum[s] = $2 }
    /^ulus_services_step_seconds_count/ { match($0, /step="[a-z]+"/); s = substr($0, RSTART + 6, RLENGTH - 7); count[s] = $2 }
    END { for (s in sum) print s, sum[s], count[s] }' | sort
}

echo "$(date -u +%F), $(nproc) cores; ulus --threads ${ULUS_THREADS:-8} --node-threads ${NODE_THREADS:-3};" \
  "service $service; ${duration} s per row"
"$load" --url "$base" --tokens "$work/tokens.txt" --service "$service" --connections 4 \
  --duration 3 >/dev/null  # warm-up: keys made, caches filled
for connections in ${BENCH_CONNECTIONS_LIST:-4 16}; do
  step_sums >"$work/before.txt"
  result=$("$load" --url "$base" --tokens "$work/tokens.txt" --service "$service" \
    --connections "$connections" --duration "$duration")
  step_sums >"$work/after.txt"
  echo
  echo "connections $connections: $result"
  # Each step's mean per application and its share of the server's work on one (PDF: as the
  # client saw the GET, rendering included).
  pdf_ms=$(sed 's/.*"pdf_ms_mean":\([0-9.e+-]*\).*/\1/' <<<"$result")
  join "$work/before.txt" "$work/after.txt" | awk -v pdf="$pdf_ms" '
    { step[NR] = $1; ms[NR] = ($4 - $2) * 1000 / (($5 - $3) > 0 ? ($5 - $3) : 1); total += ms[NR] }
    END {
      total += pdf
      printf "| step | mean ms | share |\n|---|---|---|\n"
      for (i = 1; i <= NR; i++) printf "| %s | %.2f | %.0f%% |\n", step[i], ms[i], 100 * ms[i] / total
      printf "| pdf (client GET) | %.2f | %.0f%% |\n", pdf, 100 * pdf / total
    }'
done
