#!/usr/bin/env bash
# Password logins per second through Dan's login form (POST /dan/login): Argon2id at the
# production cost, a new session row per login, a 303 to the account page. The demo citizen of
# a small synthetic country logs in again and again over keep-alive connections; every answer
# must be the 303 of a successful login (wrk reports any other status as an error).
#   bench/dan_login.sh            (BENCH_DURATION=10s; LOGIN_CONNECTIONS=4)
# Needs a release build: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# A login costs ~90 ms of one core; a few connections keep both cores busy.
BENCH_CONNECTIONS=${LOGIN_CONNECTIONS:-4}

ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
[ -x "$ulus" ] || { echo "build the release binary first (see the header)" >&2; exit 1; }
work=$(mktemp -d /tmp/ulus-bench.XXXXXX)
trap 'kill $ulus_pid 2>/dev/null || true; rm -rf "$work"' EXIT

"$ulus" --log-level warn --data "$work/data" up --people 2000 --port 18080 \
  --threads "${ULUS_THREADS:-4}" >"$work/up.log" &
ulus_pid=$!
wait_for_url http://127.0.0.1:18080/healthz

read -r national_id password < <(python3 -c '
import json,sys
for a in json.load(open(sys.argv[1])):
    if a["kind"] == "citizen": print(a["national_id"], a["password"])' "$work/data/demo-accounts.json")
# One anti-forgery pair (cookie and form field) serves every request of the run.
csrf=$(curl -s -c "$work/jar" http://127.0.0.1:18080/dan/login | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
body=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.urlencode({"csrf":sys.argv[1],"national_id":sys.argv[2],"password":sys.argv[3],"return_to":"","acr":"low"}))' "$csrf" "$national_id" "$password")
cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "dan_csrf=$csrf"
done = function(summary, latency, requests) end
LUA
first=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
  -H "Cookie: dan_csrf=$csrf" --data "$body" http://127.0.0.1:18080/dan/login)
[ "$first" = 303 ] || { echo "a login did not succeed (HTTP $first)" >&2; exit 1; }

echo "Argon2id m=64 MiB t=2 p=1; wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION; $(nproc) cores"
row=$(run_wrk "ulus POST /dan/login (password)" http://127.0.0.1:18080/dan/login -s "$work/login.lua")
print_table "$row"
