#!/usr/bin/env bash
# The services part end to end: `ulus up` with a small synthetic country (the platform on a free
# loopback port, Khur's agency nodes from a random port base), then e2e.py as a citizen, officers
# of two agencies, a one-stop centre's desk and a GovStack integrator would use it. Accounts are
# made through Dan's sign-up pages and roles with `ulus roles grant` (people.mjs). Then the server
# is killed with SIGKILL while the citizen applies from 4 threads, started again on the same data,
# and crash.py checks that every acknowledged application survived and every lost one can be
# retried once. Exits non-zero when any check fails.
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

# Starts `ulus up` (on the platform port $1, 0 for a free one); waits for "serving on". Khur's
# nodes take a few ports each from --node-port: a random base keeps parallel runs (and servers on
# 18080, 18100...) apart.
node_port=
launch() {
  "$ulus" --log-level info up --data "$work/data" --people "$people" --port "$1" --threads 4 \
    --node-port "$node_port" --node-threads 2 >"$work/server.log" 2>&1 &
  server_pid=$!
}
start_server() {
  node_port=$((20000 + RANDOM % 30000))
  rm -rf "$work/data"  # the nodes keep the ports they first took: a retry starts afresh
  launch 0
  wait_serving
}
wait_serving() {
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

server_log_tail() {
  echo "# server log (warnings and errors, last 40):" >&2
  grep -E ' (warn|warning|error|critical) ' "$work/server.log" | tail -n 40 | sed 's/^/#   /' >&2 || true
}

status=0
timeout 240 "$python" "$here/e2e.py" "$base" "$work/data" "$ulus" || status=$?
[ $status -eq 0 ] || server_log_tail

# Killed mid-write: the citizen applies from 4 threads, `ulus up` gets SIGKILL about 2 s into it
# and starts again on the same data and ports (same command; the nodes' ports are in
# data/nodes/ports.json, and the platform's port is Dan's issuer, so tokens stay valid). crash.py
# check then looks at what survived.
state="$work/crash"
mkdir -p "$state"
"$python" "$here/crash.py" submit "$base" "$work/data" "$ulus" "$state" >"$state/submit.log" 2>&1 &
writer=$!
for _ in $(seq 600); do
  grep -q '^# submitting' "$state/submit.log" && break
  kill -0 "$writer" 2>/dev/null || break
  sleep 0.1
done
sleep 2
kill -9 "$server_pid" 2>/dev/null || true
date -u +%Y-%m-%dT%H:%M:%S.%3NZ >"$state/killed"
wait "$server_pid" 2>/dev/null || true
server_pid=
wait "$writer" || { status=1; echo "not ok - crash.py submit failed"; sed 's/^/#   /' "$state/submit.log"; }
mv "$work/server.log" "$work/server-before-kill.log"
port=${base##*:}
restarted=
for attempt in 1 2 3 4 5; do  # the port may linger a moment after the kill
  for _ in $(seq 60); do [ -x "$ulus" ] && break; sleep 1; done  # a rebuild replacing it
  launch "$port"
  if wait_serving; then
    restarted=1
    break
  fi
  echo "# 'ulus up' did not start again (attempt $attempt); its last words:" >&2
  { grep -v ' info ' "$work/server.log" || true; } | tail -n 3 | sed 's/^/#   /' >&2
  sleep 1
done
if [ -z "$restarted" ]; then
  echo "not ok - ulus up starts again on the same data after SIGKILL"
  exit 1
fi
echo "ok - ulus up starts again on the same data after SIGKILL"
base2=$(grep -o 'serving on http://[0-9A-Za-z.:-]*' "$work/server.log" | head -1 | sed 's/^serving on //')
crash_status=0
timeout 150 "$python" "$here/crash.py" check "$base2" "$work/data" "$ulus" "$state" ||
  crash_status=$?
if [ $crash_status -ne 0 ]; then
  status=1
  server_log_tail
fi
exit $status
