#!/usr/bin/env bash
# Khur's exchange rate: wrk through the platform's client node (MDDIC) -> the civil registry's
# provider node (GASR, mutual TLS, signed, logged durably on both sides) -> registry read, side by
# side in one run with the same chain built of two nginx proxy_pass hops (no signing, no logging)
# in front of the same registry, and the registry alone. Then each at about half the Khur rate
# (wrk paced with delay()) for the latency Khur adds.
#   bench/khur.sh      (BENCH_PEOPLE=200000 BENCH_DURATION=10s BENCH_CONNECTIONS=64 by default)
# BENCH_DATA=DIR keeps the seeded country in DIR for the next run.
# Needs a release build: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
[ -x "$ulus" ] || { echo "build the release binary first (see the header)" >&2; exit 1; }
people=${BENCH_PEOPLE:-200000}
work=$(mktemp -d /tmp/ulus-bench.XXXXXX)
chmod 755 "$work"
port=18080
trap 'kill $ulus_pid 2>/dev/null || true; stop_nginx "$work/nginx"; wait 2>/dev/null; rm -rf "$work"' EXIT

data=${BENCH_DATA:-$work/data}
start_ulus_up "$data" "$people" 3
client_port=$(awk '$1 == "MDDIC" {print $4}' "$work/up.txt")
[ -n "$client_port" ] || { echo "no MDDIC node in ulus up's output" >&2; exit 1; }
wait_for_url "http://127.0.0.1:$client_port/healthz"

caller_key=$(head -n1 "$data/khur/caller.key")
sqlite3 "$data/agencies/GASR.db" \
  "SELECT record_id FROM record_version WHERE registry = 'person' AND is_current = 1 \
   ORDER BY random() LIMIT 10000" >"$work/ids.txt"

# Two nginx hops, each keeping its upstream connections alive, as an exchange without signing
# or logging would be.
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream provider_side { server 127.0.0.1:18092; keepalive 64; }
  upstream registry { server 127.0.0.1:$port; keepalive 64; }
  server {
    listen 127.0.0.1:18091;
    location / { proxy_pass http://provider_side; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:18092;
    location / { proxy_pass http://registry; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx"
wait_for_url "http://127.0.0.1:18091/healthz"

# read.lua PATH CLIENT_HEADER [DELAY_MS]: POST GovStack reads of random people. Calls that go
# around Khur (the registry alone, the nginx chain) carry the registries' caller key, which in
# ulus up only the nodes hold.
write_script() {
  local file=$1 path=$2 client_header=$3 delay=${4:-0} key_line=""
  [ "$client_header" = X-Road-Client ] || key_line="headers[\"Ulus-Caller-Key\"] = \"$caller_key\""
  cat >"$file" <<LUA
local ids = {}
for line in io.lines("$work/ids.txt") do ids[#ids + 1] = line end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  local id = ids[math.random(#ids)]
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["$client_header"] = "MN/GOV/MDDIC/platform"
  headers["Ulus-Subject"] = id
  headers["Ulus-Purpose"] = "benchmark"
  $key_line
  return wrk.format("POST", "$path", headers, '{"query":{"content":{"id":"' .. id .. '"}}}')
end
LUA
  if [ "$delay" != 0 ]; then
    echo "delay = function() return $delay end" >>"$file"
  fi
}
write_script "$work/direct.lua" /data/person/1.0/read Information-Mediator-Client
write_script "$work/nginx.lua" /data/person/1.0/read Information-Mediator-Client
write_script "$work/khur.lua" /r1/MN/GOV/GASR/civil-registry/person/1.0/read X-Road-Client

answer=$(curl -s -X POST "http://127.0.0.1:$client_port/r1/MN/GOV/GASR/civil-registry/person/1.0/read" \
  -H 'X-Road-Client: MN/GOV/MDDIC/platform' -H 'Content-Type: application/json' \
  -H "Ulus-Subject: $(head -n1 "$work/ids.txt")" -H 'Ulus-Purpose: benchmark' -D "$work/headers.txt" \
  -d "{\"query\":{\"content\":{\"id\":\"$(head -n1 "$work/ids.txt")\"}}}")
echo "answer through Khur: $(wc -c <<<"$answer") bytes body, $(wc -c <"$work/headers.txt") bytes head;" \
  "$people people; wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION;" \
  "ulus --threads ${ULUS_THREADS:-8} --node-threads ${NODE_THREADS:-3}; $(nproc) cores"
echo
echo "Full load:"
nginx_row=$(run_wrk "nginx proxy_pass -> nginx proxy_pass -> registry" "http://127.0.0.1:18091" \
  -s "$work/nginx.lua")
khur_row=$(run_wrk "Khur client node -> provider node -> registry" "http://127.0.0.1:$client_port" \
  -s "$work/khur.lua")
direct_row=$(run_wrk "registry alone" "http://127.0.0.1:$port" -s "$work/direct.lua")
print_table "$nginx_row" "$khur_row" "$direct_row"

# Half of Khur's rate: 32 connections, each waiting so that together they ask about that often.
khur_rps=$(cut -d'|' -f2 <<<"$khur_row")
paced=32
delay=$(awk -v r="$khur_rps" -v c="$paced" 'BEGIN { d = c / (r / 2) * 1000; printf "%d", (d < 1 ? 1 : d) }')
write_script "$work/direct_paced.lua" /data/person/1.0/read Information-Mediator-Client "$delay"
write_script "$work/khur_paced.lua" /r1/MN/GOV/GASR/civil-registry/person/1.0/read X-Road-Client "$delay"
echo
echo "About half of Khur's rate ($paced connections, each pausing ${delay} ms between requests):"
BENCH_CONNECTIONS=$paced
direct_paced=$(run_wrk "registry alone" "http://127.0.0.1:$port" -s "$work/direct_paced.lua")
khur_paced=$(run_wrk "Khur chain" "http://127.0.0.1:$client_port" -s "$work/khur_paced.lua")
print_table "$direct_paced" "$khur_paced"
echo
# Khur's own count of what it logged, as a check that the load really went through it.
curl -s "http://127.0.0.1:$client_port/metrics" | grep -E '^khur_exchanges_total' | head -5
