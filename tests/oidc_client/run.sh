#!/usr/bin/env bash
# End-to-end test of Dan (Ulus's OpenID Connect provider) with openid-client, a certified relying
# party library: starts `ulus up` on a free loopback port with a small synthetic country, runs
# e2e.mjs against it, stops the server. Exit status is e2e.mjs's.
#   ULUS_BINARY=build/release/src/app/ulus tests/oidc_client/run.sh
#   E2E_PEER=oidc-provider tests/oidc_client/run.sh     the same checks against oidc-provider
# Needs Node.js 20+ and npm (node modules are installed once into this folder with npm ci).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peer=${E2E_PEER:-ulus}
people=${E2E_PEOPLE:-2000}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "not ok - Node.js 20 or later is needed (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file.
install_modules() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
    [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}
install_modules "$here"

work=$(mktemp -d /tmp/ulus-oidc-e2e.XXXXXX)
server_pid=
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT

# start_server CMD...: runs it with output in $work/server.log; waits for "serving on".
start_server() {
  "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1200); do
    if grep -q 'serving on http://' "$work/server.log"; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || true
      server_pid=
      return 1
    fi
    sleep 0.1
  done
  echo "the server did not say 'serving on' within 120 s" >&2
  return 1
}

data="$work/data"
if [ "$peer" = oidc-provider ]; then
  install_modules "$root/bench/oidc-provider"
  export E2E_PROFILE=oidc-provider
  mkdir -p "$data"
  start_server node "$root/bench/oidc-provider/server.mjs" --mode e2e --data "$data" --port 0 || {
    cat "$work/server.log" >&2
    exit 1
  }
else
  ulus=${ULUS_BINARY:-$root/build/release/src/app/ulus}
  [ -x "$ulus" ] || { echo "not ok - no ulus binary at $ulus (set ULUS_BINARY)"; exit 1; }
  # Khur's agency nodes take two ports each from --node-port: a random base keeps parallel runs
  # apart.
  if ! start_server "$ulus" --log-level info up --data "$data" --people "$people" --port 0 \
    --threads 2 --node-port $((20000 + RANDOM % 30000)) --node-threads 2; then
    # Fall back to seed + serve when `up` cannot be used here.
    echo "# 'ulus up' stopped before serving; trying seed + serve. Its output:" >&2
    sed 's/^/#   /' "$work/server.log" >&2
    "$ulus" --log-level warn seed --data "$data" --people "$people" >&2
    start_server "$ulus" --log-level info serve --data "$data" --port 0 --threads 2 || {
      cat "$work/server.log" >&2
      exit 1
    }
  fi
fi

base=$(grep -o 'serving on http://[0-9A-Za-z.:-]*' "$work/server.log" | head -1 | sed 's/^serving on //')
# `ulus up` writes the demo accounts once it serves.
accounts_ready() {
  node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$data/demo-accounts.json" \
    2>/dev/null
}
for _ in $(seq 300); do
  accounts_ready && break
  sleep 0.1
done
if ! accounts_ready; then
  echo "not ok - the server wrote no $data/demo-accounts.json within 30 s"
  exit 1
fi
echo "# $peer serving on $base, data in $data"

status=0
timeout 180 node "$here/e2e.mjs" "$base" "$data" || status=$?
if [ $status -ne 0 ]; then
  echo "# server log (last 40 lines):" >&2
  tail -n 40 "$work/server.log" | sed 's/^/#   /' >&2
fi
exit $status
