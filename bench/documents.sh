#!/usr/bin/env bash
# Documents issued (signed + PDF with QR) and credentials verified per second, beside this
# machine's raw ECDSA P-256 rates from `openssl speed ecdsap256`, in one run.
#   bench/documents.sh
# Needs a release build: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench=${DOCUMENTS_BENCHMARK:-$BENCH_ROOT/build/release/src/documents/documents_benchmark}
[ -x "$bench" ] || { echo "build the release benchmarks first (see the header)" >&2; exit 1; }

echo "== openssl speed ecdsap256 (one core, then two)"
openssl speed -seconds 5 ecdsap256 2>/dev/null | grep -E "^ *256 bits|sign/s"
openssl speed -seconds 5 -multi 2 ecdsap256 2>/dev/null | grep -E "^ *256 bits|sign/s|ecdsa"
echo "== documents_benchmark"
# The server sets this trim threshold itself (src/app/main.cpp); the benchmark gets it here.
GLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864 "$bench" --benchmark_min_time=3 \
  --benchmark_counters_tabular=true

# Through the HTTP API of a running `ulus serve`: issuing (sign + durable record), fetching the
# PDF (rendered on request), and public verification (with its audit row).
ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
[ -x "$ulus" ] || exit 0
work=$(mktemp -d /tmp/ulus-bench.XXXXXX)
port=18090
trap 'kill $ulus_pid 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
"$ulus" --log-level warn --data "$work/data" seed --people 1000 >/dev/null
"$ulus" --log-level warn --data "$work/data" serve --port "$port" --threads "${ULUS_THREADS:-8}" \
  >"$work/serve.log" 2>&1 &
ulus_pid=$!
wait_for_url "http://127.0.0.1:$port/healthz"
secret=$(cat "$work/data/clients/demo-backend.secret")
token=$(curl -s -u "demo-backend:$secret" -d grant_type=client_credentials \
  "http://127.0.0.1:$port/oidc/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
body='{"template":"address-reference","holder":"УБ90010112","claims":{"national_id":"УБ90010112","family_name":"Батболд","given_name":"Өлзий-Орших","birth_date":"1990-01-01","address":"Улаанбаатар, Сүхбаатар дүүрэг, 1-р хороо","region":"Улаанбаатар","registered_since":"2015-06-01"}}'
doc=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "$body" "http://127.0.0.1:$port/documents/v1/documents")
id=$(sed 's/.*"id":"\([^"]*\)".*/\1/' <<<"$doc")
credential=$(sed 's/.*"credential":"\([^"]*\)".*/\1/' <<<"$doc")
cat >"$work/issue.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
cat >"$work/pdf.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
cat >"$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '$credential'
wrk.headers["Content-Type"] = "text/plain"
LUA
export BENCH_THREADS=${BENCH_THREADS:-2} BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
export BENCH_DURATION=${BENCH_DURATION:-10s}
echo "== HTTP API ($BENCH_CONNECTIONS connections, $BENCH_DURATION each)"
print_table \
  "$(run_wrk "POST /documents/v1/documents (issue)" "http://127.0.0.1:$port/documents/v1/documents" -s "$work/issue.lua")" \
  "$(run_wrk "GET /documents/v1/documents/{id}/pdf" "http://127.0.0.1:$port/documents/v1/documents/$id/pdf" -s "$work/pdf.lua")" \
  "$(run_wrk "POST /documents/v1/verify" "http://127.0.0.1:$port/documents/v1/verify" -s "$work/verify.lua")"
