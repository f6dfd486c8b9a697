#!/usr/bin/env bash
# The documents part end to end: seeds a small synthetic country, serves it on a free loopback
# port, runs e2e.py (independent verifiers, the API, the page, `ulus verify`, revocation, the
# wrong callers), then kills the server with SIGKILL while documents are being issued, restarts
# it and checks that every acknowledged document survived whole (crash.py).
#   ULUS_BINARY=build/release/src/app/ulus tests/documents/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3  # Debian's, with python3-jwcrypto, -cbor2 and -cryptography

# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$here/../support/e2e.sh"
require_ulus
make_work documents

# serve on PORT (the same one again after the kill, so the origin stays); its log on stderr when
# it does not start.
serve() {
  start_ulus "$work/server.log" --log-level info serve --data "$work/data" --port "$port" \
    --threads 4 || { cat "$work/server.log" >&2; return 1; }
}

"$ulus" --log-level warn seed --data "$work/data" --people 300 >/dev/null
# A fixed port rather than --port 0, as the restart must have the same origin; another run's
# server may hold it, so a few tries.
for try in 1 2 3; do
  port=$(random_port)
  serve && break
  [ "$try" = 3 ] && exit 1
done
origin="http://127.0.0.1:$port"
status=0
"$python" "$here/e2e.py" "$origin" "$work/data" "$ulus" || status=1

# Killed mid-write.
"$python" "$here/crash.py" issue "$origin" "$work/data" "$work/ids" &
writer=$!
sleep 2
kill_server
wait "$writer" || true
serve
"$python" "$here/crash.py" check "$origin" "$work/data" "$work/ids" || status=1
exit $status
