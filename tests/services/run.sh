#!/usr/bin/env bash
# The services part end to end: `ulus up` with a small synthetic country (the platform on a free
# loopback port, Khur's agency nodes from a random port base), then e2e.py as a citizen, officers
# of two agencies, a one-stop centre's desk and a GovStack integrator would use it. Accounts are
# made through Dan's sign-up pages and roles with `ulus roles grant` (people.mjs). Exit status is
# e2e.py's.
#   ULUS_BINARY=build/release/src/app/ulus tests/services/run.sh
# Needs Node.js 20+ (no modules) and Python 3 (standard library only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ulus=${ULUS_BINARY:-$root/build/release/src/app/ulus}
python=/usr/bin/python3
people=${E2E_PEOPLE:-2000}

[ -x "$ulus" ] || { echo "not ok - no ulus binary at $ulus (set ULUS_BINARY)"; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "not ok - Node.js 20 or later is needed (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

work=$(mktemp -d /tmp/ulus-services-e2e.XXXXXX)
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

# Starts `ulus up`; waits for "serving on". Khur's nodes take a few ports each from --node-port:
# a random base keeps parallel runs (and servers on 18080, 18100...) apart.
start_server() {
  local node_port=$((20000 + RANDOM % 30000))
  rm -rf "$work/data"  # the nodes keep the ports they first took: a retry starts afresh
  "$ulus" --log-level info up --data "$work/data" --people "$people" --port 0 --threads 4 \
    --node-port "$node_port" --node-threads 2 >"$work/server.log" 2>&1 &
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
  echo "# the server did not say 'serving on' within 120 s" >&2
  stop_server
  return 1
}

started=
for attempt in 1 2 3; do
  if start_server; then
    started=1
    break
  fi
  echo "# 'ulus up' stopped before serving (attempt $attempt); its last words:" >&2
  { grep -v ' info ' "$work/server.log" || true; } | tail -n 3 |
    sed 's/^/#   /' >&2
done
[ -n "$started" ] || { echo "not ok - ulus up did not start"; exit 1; }

base=$(grep -o 'serving on http://[0-9A-Za-z.:-]*' "$work/server.log" | head -1 | sed 's/^serving on //')
# `ulus up` writes the demo accounts once it serves.
for _ in $(seq 300); do
  "$python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/data/demo-accounts.json" \
    2>/dev/null && break
  sleep 0.1
done
echo "# ulus serving on $base, data in $work/data"

status=0
timeout 240 "$python" "$here/e2e.py" "$base" "$work/data" "$ulus" || status=$?
if [ $status -ne 0 ]; then
  echo "# server log (warnings and errors, last 40):" >&2
  grep -E ' (warn|error|critical) ' "$work/server.log" | tail -n 40 | sed 's/^/#   /' >&2 || true
fi
exit $status
