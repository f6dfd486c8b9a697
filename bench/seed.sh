#!/usr/bin/env bash
# Seeding rate: `ulus seed` of a synthetic Mongolia into the embedded SQLite stores (one file per
# agency) and into a throw-away PostgreSQL server, timed end to end (open, migrate, generate,
# validate, write, commit).
#   bench/seed.sh                 PEOPLE=3500000 (full Mongolia) PG_PEOPLE=$PEOPLE
#   BACKENDS="sqlite postgres"    which to run
# Needs a release build (see bench/http_ceiling.sh) and, for PostgreSQL, its server binaries.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ulus=${ULUS_BINARY:-$BENCH_ROOT/build/release/src/app/ulus}
people=${PEOPLE:-3500000}
pg_people=${PG_PEOPLE:-$people}
backends=${BACKENDS:-sqlite postgres}
[ -x "$ulus" ] || { echo "build the release binary first (see the header)" >&2; exit 1; }

work=$(mktemp -d /tmp/ulus-bench-seed.XXXXXX)
chmod 755 "$work"
trap '"$BENCH_ROOT/scripts/pg-throwaway" stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

rows=()
# seed LABEL PEOPLE [ulus global options...]: one timed run; appends a table row.
seed() {
  local label=$1 n=$2
  shift 2
  local start end out
  start=$(date +%s.%N)
  out=$("$ulus" --log-level warn "$@" seed --people "$n" --seed 1 2>/dev/null)
  end=$(date +%s.%N)
  local records seconds
  records=$(sed -n 's/^seeded [0-9,]* people: \([0-9,]*\) records.*/\1/p' <<<"$out" | tr -d ,)
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  rows+=("$label|$n|$records|$seconds|$(awk -v n="$n" -v s="$seconds" 'BEGIN { printf "%d", n / s }')|$(awk -v n="$records" -v s="$seconds" 'BEGIN { printf "%d", n / s }')")
  echo "$label: $n people, $records records in $seconds s" >&2
}

for backend in $backends; do
  case $backend in
    sqlite)
      seed "SQLite (file per agency)" "$people" --data "$work/data"
      echo "SQLite files: $(du -sh "$work/data/agencies" | cut -f1)" >&2
      rm -rf "$work/data"
      ;;
    postgres)
      url=$("$BENCH_ROOT/scripts/pg-throwaway" start "$work/pg" "${PG_PORT:-55490}")
      seed "PostgreSQL $(psql --version | awk '{print $3}') (one database)" "$pg_people" \
        --database "$url"
      "$BENCH_ROOT/scripts/pg-throwaway" stop "$work/pg"
      ;;
  esac
done

echo "$(nproc) cores; records validated against their schemas; generation included"
echo "| store | people | records | seconds | people/s | records/s |"
echo "|---|---:|---:|---:|---:|---:|"
for row in "${rows[@]}"; do
  IFS='|' read -r label n records seconds pps rps <<<"$row"
  echo "| $label | $n | $records | $seconds | $pps | $rps |"
done
