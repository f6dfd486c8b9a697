#!/usr/bin/env bash
# Registry read by ID over HTTP: wrk (keep-alive, loopback) POSTing GovStack `read` requests for
# random real register numbers against `ulus serve`, side by side in one run with nginx serving a
# static JSON file of the same size as a typical answer. Seeds a synthetic Mongolia first.
#   bench/registry_read.sh            PEOPLE=100000 BENCH_DURATION=10s BENCH_CONNECTIONS=64
#   ULUS_THREADS=2                    the server's worker threads
# Needs a release build (cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build
# build/release), wrk, nginx and the sqlite3 command-line shell (to pick ids).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
people=${PEOPLE:-100000}
port=${ULUS_PORT:-18090}
nginx_port=${NGINX_PORT:-18091}
client="MN/GOV/MDDIC/platform"
[ -x "$ulus" ] || { echo "build the release binary first (see the header)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }

work=$(mktemp -d /tmp/ulus-bench-read.XXXXXX)
chmod 755 "$work"
ulus_pid=
trap '[ -n "$ulus_pid" ] && kill $ulus_pid 2>/dev/null; stop_nginx "$work/nginx"; rm -rf "$work"' EXIT

echo "seeding $people people..."
"$ulus" --log-level warn --data "$work/data" seed --people "$people" --seed 1 >"$work/seed.txt" 2>"$work/seed.err"
head -n 1 "$work/seed.txt"

# 10,000 random live person ids; wrk picks among them at random.
sqlite3 "$work/data/agencies/GASR.db" \
  "SELECT record_id FROM record_version WHERE registry = 'person' AND is_current = 1
   AND deleted = 0 ORDER BY random() LIMIT 10000" >"$work/ids.txt"

"$ulus" --log-level warn --data "$work/data" serve --port "$port" --threads "${ULUS_THREADS:-2}" &
ulus_pid=$!
wait_for_url "http://127.0.0.1:$port/healthz"

# The static file nginx serves: a real answer for one of the ids.
mkdir -p "$work/www"
first_id=$(head -n 1 "$work/ids.txt")
curl -sf -X POST "http://127.0.0.1:$port/data/person/1.0/read" \
  -H "Information-Mediator-Client: $client" -H 'Content-Type: application/json' \
  -d "{\"query\":{\"content\":{\"id\":\"$first_id\"}}}" >"$work/www/person.json"
start_nginx "$work/nginx" "$nginx_port" "$work/www"
wait_for_url "http://127.0.0.1:$nginx_port/person.json"

cat >"$work/read.lua" <<LUA
-- Each wrk thread loads the ids and asks for random ones over its keep-alive connections.
local ids = {}
for line in io.lines("$work/ids.txt") do ids[#ids + 1] = line end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Information-Mediator-Client"] = "$client"
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format(nil, "/data/person/1.0/read", nil,
                    '{"query":{"content":{"id":"' .. id .. '"}}}')
end
LUA

echo "answer: $(wc -c <"$work/www/person.json") bytes; ids: $(wc -l <"$work/ids.txt");" \
  "wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION; ulus --threads ${ULUS_THREADS:-2};" \
  "$(nproc) cores"
nginx_row=$(run_wrk "nginx $(nginx -v 2>&1 | sed 's|.*/||') static file" \
  "http://127.0.0.1:$nginx_port/person.json")
ulus_row=$(run_wrk "ulus POST /data/person/1.0/read (random id)" "http://127.0.0.1:$port" \
  -s "$work/read.lua")
print_table "$nginx_row" "$ulus_row"
