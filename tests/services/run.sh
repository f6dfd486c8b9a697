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
python=/usr/bin/python3
people=${E2E_PEOPLE:-2000}

# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$here/../support/e2e.sh"
require_ulus
require_node
make_work services

# `ulus up` on a free platform port; its node port base is kept for the restart below.
up_args=(--people "$people" --threads 4 --node-threads 2)
start_ulus_up "$work/server.log" "$work/data" "${up_args[@]}" ||
  { echo "not ok - ulus up did not start"; exit 1; }
base=$(serving_url "$work/server.log")
wait_demo_accounts "$work/data" || exit 1
echo "# ulus serving on $base, data in $work/data"

status=0
timeout 240 "$python" "$here/e2e.py" "$base" "$work/data" "$ulus" || status=$?
[ $status -eq 0 ] || server_log_tail "$work/server.log"

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
kill_server
date -u +%Y-%m-%dT%H:%M:%S.%3NZ >"$state/killed"
wait "$writer" || { status=1; echo "not ok - crash.py submit failed"; sed 's/^/#   /' "$state/submit.log"; }
mv "$work/server.log" "$work/server-before-kill.log"
port=${base##*:}
restarted=
for attempt in 1 2 3 4 5; do  # the port may linger a moment after the kill
  if start_ulus "$work/server.log" --log-level info up --data "$work/data" --port "$port" \
    --node-port "$node_port" "${up_args[@]}"; then
    restarted=1
    break
  fi
  echo "# 'ulus up' did not start again (attempt $attempt); its last words:" >&2
  last_words "$work/server.log"
  sleep 1
done
if [ -z "$restarted" ]; then
  echo "not ok - ulus up starts again on the same data after SIGKILL"
  exit 1
fi
echo "ok - ulus up starts again on the same data after SIGKILL"
base2=$(serving_url "$work/server.log")
crash_status=0
timeout 150 "$python" "$here/crash.py" check "$base2" "$work/data" "$ulus" "$state" ||
  crash_status=$?
if [ $crash_status -ne 0 ]; then
  status=1
  server_log_tail "$work/server.log"
fi
exit $status
