#!/usr/bin/env bash
# The documents part end to end: seeds a small synthetic country, serves it on a free loopback
# port, runs e2e.py (independent verifiers, the API, the page, `ulus verify`, revocation, the
# wrong callers), then kills the server with SIGKILL while documents are being issued, restarts
# it and checks that every acknowledged document survived whole (crash.py).
#   ULUS_BINARY=build/release/src/app/ulus tests/documents/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ulus=${ULUS_BINARY:-$root/build/release/src/app/ulus}
python=/usr/bin/python3  # Debian's, with python3-jwcrypto, -cbor2 and -cryptography
work=$(mktemp -d /tmp/ulus-documents-e2e.XXXXXX)
server_pid=
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT

start_server() {
  : >"$work/server.log"
  "$ulus" --log-level info serve --data "$work/data" --port "$port" --threads 4 \
    >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    grep -q 'serving on http://' "$work/server.log" && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; return 1; }
    sleep 0.1
  done
  echo "the server did not start" >&2
  return 1
}

"$ulus" --log-level warn seed --data "$work/data" --people 300 >/dev/null
port=$((20000 + RANDOM % 30000))
start_server
origin="http://127.0.0.1:$port"
status=0
"$python" "$here/e2e.py" "$origin" "$work/data" "$ulus" || status=1

# Killed mid-write.
"$python" "$here/crash.py" issue "$origin" "$work/data" "$work/ids" &
writer=$!
sleep 2
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
wait "$writer" || true
start_server
"$python" "$here/crash.py" check "$origin" "$work/data" "$work/ids" || status=1
exit $status
