#!/usr/bin/env bash
# The citizen portal and the officer workspace end to end in a real browser: `ulus up` with a
# small synthetic country (the platform on a free loopback port, Khur's agency nodes from a random
# port base), people.mjs prepares the people through Dan's pages (the demo citizen, a second
# citizen signed up with the code sent to the register's phone, the demo officer with an
# authenticator app), then portal.mjs drives Debian's Chromium through the portal with
# playwright-core. Exits non-zero when any check fails.
#   ULUS_BINARY=build/release/src/app/ulus tests/portal/run.sh
#   UPDATE_SCREENSHOTS=1 tests/portal/run.sh     also saves the screenshots in docs/screenshots/
# Needs Node.js 20+ and npm (playwright-core and axe-core are installed once into this folder with
# npm ci; playwright-core never downloads a browser, axe-core's script is read from node_modules),
# Debian's chromium at /usr/bin/chromium and Python 3 (sqlite3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ulus=${ULUS_BINARY:-$root/build/release/src/app/ulus}
people=${E2E_PEOPLE:-2000}
chromium=/usr/bin/chromium

[ -x "$ulus" ] || { echo "not ok - no ulus binary at $ulus (set ULUS_BINARY)"; exit 1; }
[ -x "$chromium" ] || { echo "not ok - no Chromium at $chromium (apt-get install chromium)"; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "not ok - Node.js 20 or later is needed (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
  [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
fi

work=$(mktemp -d /tmp/ulus-portal-e2e.XXXXXX)
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

# Starts `ulus up` on a free platform port; waits for "serving on". Khur's nodes take a few ports
# each from --node-port: a random base keeps parallel runs apart.
start_server() {
  rm -rf "$work/data"  # the nodes keep the ports they first took: a retry starts afresh
  "$ulus" --log-level info up --data "$work/data" --people "$people" --port 0 --threads 4 \
    --node-port $((20000 + RANDOM % 30000)) --node-threads 2 >"$work/server.log" 2>&1 &
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
  { grep -v ' info ' "$work/server.log" || true; } | tail -n 3 | sed 's/^/#   /' >&2
done
[ -n "$started" ] || { echo "not ok - ulus up did not start"; exit 1; }

base=$(grep -o 'serving on http://[0-9A-Za-z.:-]*' "$work/server.log" | head -1 | sed 's/^serving on //')
# `ulus up` writes the demo accounts once it serves.
accounts_ready() {
  node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$work/data/demo-accounts.json" \
    2>/dev/null
}
for _ in $(seq 300); do
  accounts_ready && break
  sleep 0.1
done
if ! accounts_ready; then
  echo "not ok - the server wrote no demo-accounts.json within 30 s"
  exit 1
fi
echo "# ulus serving on $base, data in $work/data"

server_log_tail() {
  echo "# server log (warnings and errors, last 40):" >&2
  grep -E ' (warn|warning|error|critical) ' "$work/server.log" | tail -n 40 | sed 's/^/#   /' >&2 || true
}

if ! timeout 120 node "$here/people.mjs" "$base" "$work/data" "$ulus" >"$work/people.json" 2>"$work/people.err"; then
  echo "not ok - the people of the test sign up, and the officer enrols an authenticator app, on Dan's pages"
  sed 's/^/#   /' "$work/people.err"
  server_log_tail
  exit 1
fi
echo "ok - the people of the test sign up, and the officer enrols an authenticator app, on Dan's pages"

if [ "${UPDATE_SCREENSHOTS:-}" = 1 ]; then
  shots=$root/docs/screenshots
else
  shots=$work/screenshots
fi
mkdir -p "$shots"

status=0
PORTAL_SCREENSHOTS=$shots timeout 300 node "$here/portal.mjs" "$base" "$work/people.json" "$work/data" "$ulus" ||
  status=$?
[ $status -eq 0 ] || server_log_tail
[ "${UPDATE_SCREENSHOTS:-}" != 1 ] || echo "# screenshots in $shots"
exit $status
