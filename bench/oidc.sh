#!/usr/bin/env bash
# Token endpoint throughput of Dan (Ulus's OpenID Connect provider) beside oidc-provider (panva's
# certified OP, a two-worker node cluster configured equivalently), each also as a ratio to nginx
# serving a static file, all in one run on this machine:
#   client_credentials  JWT access tokens signed ES256, client_secret_basic
#   refresh             refresh_token grant with rotation, always the newest token
#                       (Dan's grants are durable; oidc-provider's default adapter is in memory)
#   introspect          RFC 7662, each connection introspecting its own access token
#
#   BENCH_DURATION=10s bench/oidc.sh     (BENCH_CONNECTIONS=64; OIDC_PEERS="ulus oidc-provider")
#
# Needs a release build with the benchmarks (cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
# && cmake --build build/release -j2), Node.js 20+ with npm, and nginx. ULUS_BINARY and OIDC_LOAD
# override where the binaries are. Everything listens on 127.0.0.1; every load is bounded in time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
load=${OIDC_LOAD:-$BENCH_ROOT/build/release/bench/oidc_load}
peers=${OIDC_PEERS:-ulus oidc-provider}
ulus_port=18090
nginx_port=18091
op_port=18092
[ -x "$load" ] || { echo "no load generator at $load: build the release tree (see the header)" >&2; exit 1; }
if [[ " $peers " == *" ulus "* ]] && [ ! -x "$ulus" ]; then
  echo "no ulus binary at $ulus: build the release tree (see the header)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/ulus-bench-oidc.XXXXXX)
chmod 755 "$work"
ulus_pid=
op_pid=
cleanup() {
  [ -n "$ulus_pid" ] && kill "$ulus_pid" 2>/dev/null || true
  [ -n "$op_pid" ] && kill "$op_pid" 2>/dev/null || true
  stop_nginx "$work/nginx"
  for pid in $ulus_pid $op_pid; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

install_modules() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
    [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

# endpoint_path ORIGIN FIELD: the path of a discovery document's endpoint.
endpoint_path() {
  node -e 'fetch(process.argv[1] + "/.well-known/openid-configuration").then((r) => r.json())
    .then((m) => console.log(new URL(m[process.argv[2]]).pathname))' "$1" "$2"
}

# wait_for_log FILE: up to 60 s for "serving on".
wait_for_log() {
  for _ in $(seq 600); do
    grep -q 'serving on' "$1" && return 0
    sleep 0.1
  done
  echo "no 'serving on' in $1:" >&2
  cat "$1" >&2
  return 1
}

results="$work/results.jsonl"
# measure ENDPOINT SERVER oidc_load-args...: one run; its JSON line is kept, labelled.
measure() {
  local endpoint=$1 server=$2
  shift 2
  echo "# $endpoint, $server ..." >&2
  local line
  line=$("$load" --connections "$BENCH_CONNECTIONS" --duration "$BENCH_DURATION" \
    --label "$server" "$@") || true
  [ -n "$line" ] || line='{"requests_per_s":0,"p50_ms":0,"p99_ms":0,"errors":-1,"first_error":"oidc_load failed"}'
  echo "$line" >&2
  node -e 'const r = JSON.parse(process.argv[1]); r.endpoint = process.argv[2]; r.server = process.argv[3];
    console.log(JSON.stringify(r))' "$line" "$endpoint" "$server" >>"$results"
}

echo "# setting up: $(nproc) cores, $BENCH_CONNECTIONS connections, $BENCH_DURATION per run" >&2
body_source=
if [[ " $peers " == *" ulus "* ]]; then
  install_modules "$BENCH_ROOT/tests/oidc_client"
  # The pack's clients plus bench-portal: demo-portal with ES256 ID tokens, configured as
  # oidc-provider's bench-refresh is, so that neither refresh figure is RSA signing.
  cp "$BENCH_ROOT/packs/mn/clients.yaml" "$work/clients.yaml"
  cat >>"$work/clients.yaml" <<'YAML'
  - client_id: bench-portal
    name: {mn: "Хэмжилт", en: "Benchmark portal"}
    type: confidential
    redirect_uris: [http://127.0.0.1:8089/callback]
    grant_types: [authorization_code, refresh_token]
    scopes: [openid, offline_access]
    id_token_signed_response_alg: ES256
    first_party: true
YAML
  # Handlers block on the group commit of refresh rotations; more threads than cores keep a
  # batch full (see docs/architecture.md).
  "$ulus" --log-level warn up --data "$work/ulus" --people 2000 --port "$ulus_port" \
    --clients "$work/clients.yaml" --threads "${ULUS_THREADS:-32}" >"$work/ulus.log" 2>&1 &
  ulus_pid=$!
  wait_for_url "http://127.0.0.1:$ulus_port/healthz"
  ulus_url=http://127.0.0.1:$ulus_port
  ulus_token=$(endpoint_path "$ulus_url" token_endpoint)
  ulus_introspect=$(endpoint_path "$ulus_url" introspection_endpoint)
  # `ulus up` writes the demo accounts once it serves.
  for _ in $(seq 300); do
    node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' \
      "$work/ulus/demo-accounts.json" 2>/dev/null && break
    sleep 0.1
  done
  # One refresh token family per connection, and as many spares, minted through the login page.
  node "$BENCH_ROOT/tests/oidc_client/mint-refresh-tokens.mjs" "$ulus_url" "$work/ulus" \
    $((BENCH_CONNECTIONS * 2)) bench-portal >"$work/ulus-refresh-tokens.txt"
  body_source="$ulus_url$ulus_token demo-backend $work/ulus/clients/demo-backend.secret"
fi
if [[ " $peers " == *" oidc-provider "* ]]; then
  install_modules "$BENCH_ROOT/bench/oidc-provider"
  mkdir -p "$work/op"
  node "$BENCH_ROOT/bench/oidc-provider/server.mjs" --mode bench --workers 2 --port "$op_port" \
    --data "$work/op" >"$work/op.log" 2>&1 &
  op_pid=$!
  wait_for_log "$work/op.log"
  op_url=http://127.0.0.1:$op_port
  op_token=$(endpoint_path "$op_url" token_endpoint)
  op_introspect=$(endpoint_path "$op_url" introspection_endpoint)
  [ -n "$body_source" ] || body_source="$op_url$op_token demo-backend $work/op/clients/demo-backend.secret"
fi

# nginx serves a real client_credentials token response as a static file.
read -r body_url body_client body_secret <<<"$body_source"
mkdir -p "$work/www"
if ! curl -sf -u "$body_client:$(cat "$body_secret")" -d grant_type=client_credentials "$body_url" \
  >"$work/www/token.json"; then
  echo "client_credentials for $body_client at $body_url failed:" >&2
  curl -s -u "$body_client:$(cat "$body_secret")" -d grant_type=client_credentials "$body_url" >&2
  exit 1
fi
start_nginx "$work/nginx" "$nginx_port" "$work/www"
wait_for_url "http://127.0.0.1:$nginx_port/token.json"

measure static "nginx $(nginx -v 2>&1 | sed 's|.*nginx/||') static file ($(wc -c <"$work/www/token.json") bytes)" \
  --url "http://127.0.0.1:$nginx_port" --mode static --static-path /token.json
wrk_row=$(run_wrk "nginx static file, wrk" "http://127.0.0.1:$nginx_port/token.json")

for mode in client_credentials refresh introspect; do
  if [ -n "$ulus_pid" ]; then
    secrets="$work/ulus/clients"
    case $mode in
      client_credentials)
        measure "$mode" "ulus (Dan)" --url "$ulus_url" --mode "$mode" --token-path "$ulus_token" \
          --client-id demo-backend --client-secret-file "$secrets/demo-backend.secret" ;;
      refresh)
        measure "$mode" "ulus (Dan)" --url "$ulus_url" --mode "$mode" --token-path "$ulus_token" \
          --client-id bench-portal --client-secret-file "$secrets/bench-portal.secret" \
          --refresh-tokens "$work/ulus-refresh-tokens.txt" ;;
      introspect)
        measure "$mode" "ulus (Dan)" --url "$ulus_url" --mode "$mode" --token-path "$ulus_token" \
          --introspect-path "$ulus_introspect" \
          --client-id demo-backend --client-secret-file "$secrets/demo-backend.secret" \
          --introspect-client-id demo-portal \
          --introspect-client-secret-file "$secrets/demo-portal.secret" ;;
    esac
  fi
  if [ -n "$op_pid" ]; then
    secrets="$work/op/clients"
    name="oidc-provider $(node -p 'require(process.argv[1]).version' \
      "$BENCH_ROOT/bench/oidc-provider/node_modules/oidc-provider/package.json"), 2 workers"
    case $mode in
      client_credentials)
        measure "$mode" "$name" --url "$op_url" --mode "$mode" --token-path "$op_token" \
          --client-id demo-backend --client-secret-file "$secrets/demo-backend.secret" ;;
      refresh)
        measure "$mode" "$name" --url "$op_url" --mode "$mode" --token-path "$op_token" \
          --client-id bench-refresh --client-secret-file "$secrets/bench-refresh.secret" \
          --refresh-mint-path /bench/refresh-token ;;
      introspect)
        # It cannot introspect its JWT access tokens, so this token is opaque (see server.mjs).
        measure "$mode" "$name (opaque token)" --url "$op_url" --mode "$mode" \
          --token-path "$op_token" --introspect-path "$op_introspect" \
          --token-param resource=urn%3Aulus%3Aopaque \
          --client-id demo-backend --client-secret-file "$secrets/demo-backend.secret" ;;
    esac
  fi
done

echo "$(date -u +%F), $(nproc) cores, oidc_load: $BENCH_CONNECTIONS keep-alive connections, $BENCH_DURATION per row; Node $(node --version)"
echo
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const nginx = rows.find((r) => r.endpoint === "static")?.requests_per_s;
const fmt = (n) => Math.round(n).toLocaleString("en-US");
const ratio = (a, b) => (b ? (a / b).toFixed(2) : "–");
console.log("| endpoint | server | requests/s | p50 | p99 | errors | ratio to Ulus | ratio to nginx |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  const ulus = rows.find((u) => u.endpoint === r.endpoint && u.server.startsWith("ulus"))?.requests_per_s;
  const why = (r.first_error || "").replace(/\|/g, "/").slice(0, 120);
  const errors = r.errors ? `${r.errors}${why ? ` (${why})` : ""}` : "0";
  console.log(`| ${r.endpoint} | ${r.server} | ${fmt(r.requests_per_s)} | ${r.p50_ms.toFixed(2)} ms | ` +
    `${r.p99_ms.toFixed(2)} ms | ${errors} | ${r.endpoint === "static" ? "–" : ratio(r.requests_per_s, ulus)} | ` +
    `${ratio(r.requests_per_s, nginx)} |`);
}' "$results"
IFS='|' read -r _ wrk_rps wrk_p50 wrk_p99 _ <<<"$wrk_row"
echo
echo "For scale, wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS against the same nginx file: $wrk_rps requests/s (p50 $wrk_p50, p99 $wrk_p99)."
