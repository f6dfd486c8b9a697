# shellcheck shell=bash
# Shared by the end-to-end test scripts (tests/*/run.sh): what they need (Node.js, the ulus
# binary, node modules), a scratch folder removed on exit, and a server started in the background,
# waited for and stopped again. Sourced, not run, by scripts under set -euo pipefail. Everything
# listens on 127.0.0.1 only.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# require_node: Node.js 20 or later, or "not ok" and exit.
require_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -lt 20 ]; then
    echo "not ok - Node.js 20 or later is needed (found: $(node --version 2>/dev/null || echo none))"
    exit 1
  fi
}

# require_ulus: sets ulus to $ULUS_BINARY (the release build's when unset); "not ok" and exit when
# it cannot be run.
require_ulus() {
  ulus=${ULUS_BINARY:-$E2E_ROOT/build/release/src/app/ulus}
  [ -x "$ulus" ] || { echo "not ok - no ulus binary at $ulus (set ULUS_BINARY)"; exit 1; }
}

# install_modules DIR: npm ci in DIR, only when node_modules is missing or older than the lock
# file. Variables set before the call (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 install_modules ...) reach
# npm.
install_modules() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
    [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

# make_work NAME: sets work to a fresh folder /tmp/ulus-NAME-e2e.XXXXXX; on exit the server is
# stopped and the folder removed.
make_work() {
  work=$(mktemp -d "/tmp/ulus-$1-e2e.XXXXXX")
  server_pid=
  trap 'stop_server; rm -rf "$work"' EXIT
}

# random_port: prints a random port from 20000 to 32699, for a server that must come back on the
# same port after a kill, or Khur's agency nodes, which take a few ports each from `up --node-port`
# (a random base keeps parallel runs, and servers on 18080, 18100..., apart). It stays below
# Linux's ephemeral range (from 32768), where another test's outgoing connection can hold any port
# at the moment a server binds.
random_port() {
  echo $((20000 + RANDOM % 12700))
}

# start_server LOG CMD [ARG...]: runs CMD in the background with its output in LOG and its process
# id in server_pid; waits for it to say "serving on http://". Returns 1 when it stops first, or
# (stopping it) when it has not said so within 120 s.
start_server() {
  local log=$1
  shift
  : >"$log"
  "$@" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1200); do
    if grep -q 'serving on http://' "$log"; then return 0; fi
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

# start_ulus LOG ARG...: start_server with the ulus binary ($ulus), once it is there again when a
# rebuild is replacing it (up to a minute).
start_ulus() {
  local log=$1
  shift
  for _ in $(seq 60); do
    [ -x "$ulus" ] && break
    sleep 1
  done
  start_server "$log" "$ulus" "$@"
}

# start_ulus_up LOG DATA [ARG...]: `ulus up` into a fresh DATA on a free platform port, Khur's nodes
# from a random base (node_port), the ARGs added (--people, --threads...); three attempts, as a
# random base can meet ports in use. Says each failed attempt's last words on stderr.
start_ulus_up() {
  local log=$1 data=$2 attempt
  shift 2
  for attempt in 1 2 3; do
    node_port=$(random_port)
    rm -rf "$data"  # the nodes keep the ports they first took: a retry starts afresh
    start_ulus "$log" --log-level info up --data "$data" --port 0 --node-port "$node_port" "$@" &&
      return 0
    echo "# 'ulus up' stopped before serving (attempt $attempt); its last words:" >&2
    last_words "$log"
  done
  return 1
}

# serving_url LOG: the http://host:port the server said it serves on.
serving_url() {
  grep -o 'serving on http://[0-9A-Za-z.:-]*' "$1" | head -1 | sed 's/^serving on //'
}

# wait_demo_accounts DATA: waits up to 30 s for DATA/demo-accounts.json (`ulus up` writes it once
# it serves); "not ok" and returns 1 when it is not there.
wait_demo_accounts() {
  local file=$1/demo-accounts.json
  for _ in $(seq 300); do
    node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$file" 2>/dev/null &&
      return 0
    sleep 0.1
  done
  echo "not ok - the server wrote no $file within 30 s"
  return 1
}

# stop_server: SIGTERM to server_pid, 10 s to finish, then SIGKILL.
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

# kill_server: SIGKILL to server_pid at once, as a crash would stop it.
kill_server() {
  [ -n "$server_pid" ] || return 0
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

# last_words LOG: its last 3 lines that are not info, on stderr.
last_words() {
  { grep -v ' info ' "$1" || true; } | tail -n 3 | sed 's/^/#   /' >&2
}

# server_log_tail LOG: its warnings and errors (the last 40), on stderr.
server_log_tail() {
  echo "# server log (warnings and errors, last 40):" >&2
  grep -E ' (warn|warning|error|critical) ' "$1" | tail -n 40 | sed 's/^/#   /' >&2 || true
}
