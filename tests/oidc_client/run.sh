#!/usr/bin/env bash
# End-to-end test of Dan (Ulus's OpenID Connect provider) with openid-client, a certified relying
# party library: starts `ulus up` on a free loopback port with a small synthetic country, runs
# e2e.mjs against it, stops the server. Exit status is e2e.mjs's.
#   ULUS_BINARY=build/release/src/app/ulus tests/oidc_client/run.sh
#   E2E_PEER=oidc-provider tests/oidc_client/run.sh     the same checks against oidc-provider
# Needs Node.js 20+ and npm (node modules are installed once into this folder with npm ci).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peer=${E2E_PEER:-ulus}
people=${E2E_PEOPLE:-2000}

# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$here/../support/e2e.sh"
require_node
install_modules "$here"
make_work oidc

data="$work/data"
if [ "$peer" = oidc-provider ]; then
  install_modules "$root/bench/oidc-provider"
  export E2E_PROFILE=oidc-provider
  mkdir -p "$data"
  start_server "$work/server.log" node "$root/bench/oidc-provider/server.mjs" --mode e2e \
    --data "$data" --port 0 || {
    cat "$work/server.log" >&2
    exit 1
  }
else
  require_ulus
  if ! start_ulus_up "$work/server.log" "$data" --people "$people" --threads 2 --node-threads 2; then
    # Fall back to seed + serve when `up` cannot be used here.
    echo "# 'ulus up' stopped before serving; trying seed + serve. Its output:" >&2
    sed 's/^/#   /' "$work/server.log" >&2
    "$ulus" --log-level warn seed --data "$data" --people "$people" >&2
    start_ulus "$work/server.log" --log-level info serve --data "$data" --port 0 --threads 2 || {
      cat "$work/server.log" >&2
      exit 1
    }
  fi
fi

base=$(serving_url "$work/server.log")
wait_demo_accounts "$data" || exit 1
echo "# $peer serving on $base, data in $data"

status=0
timeout 180 node "$here/e2e.mjs" "$base" "$data" || status=$?
if [ $status -ne 0 ]; then
  echo "# server log (last 40 lines):" >&2
  tail -n 40 "$work/server.log" | sed 's/^/#   /' >&2
fi
exit $status
