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
people=${E2E_PEOPLE:-2000}
chromium=/usr/bin/chromium

# shellcheck source-path=SCRIPTDIR source=../support/e2e.sh
source "$here/../support/e2e.sh"
require_ulus
[ -x "$chromium" ] || { echo "not ok - no Chromium at $chromium (apt-get install chromium)"; exit 1; }
require_node
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 install_modules "$here"
make_work portal

start_ulus_up "$work/server.log" "$work/data" --people "$people" --threads 4 --node-threads 2 ||
  { echo "not ok - ulus up did not start"; exit 1; }
base=$(serving_url "$work/server.log")
wait_demo_accounts "$work/data" || exit 1
echo "# ulus serving on $base, data in $work/data"

if ! timeout 120 node "$here/people.mjs" "$base" "$work/data" "$ulus" >"$work/people.json" 2>"$work/people.err"; then
  echo "not ok - the people of the test sign up, and the officer enrols an authenticator app, on Dan's pages"
  sed 's/^/#   /' "$work/people.err"
  server_log_tail "$work/server.log"
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
[ $status -eq 0 ] || server_log_tail "$work/server.log"
[ "${UPDATE_SCREENSHOTS:-}" != 1 ] || echo "# screenshots in $shots"
exit $status
