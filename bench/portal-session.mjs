// Logs the demo citizen of a running `ulus up` into the portal, as a browser would (the portal's
// /portal/login, Dan's login form, the callback), and prints the portal's session cookie as a
// Cookie header value ("ulus-portal=...") for load generators.
//   node bench/portal-session.mjs BASE_URL DATA_DIR
import { readFileSync } from 'node:fs';
import { CookieJar, browseUntil } from '../tests/oidc_client/browser.mjs';

const [baseArg, dataDir] = process.argv.slice(2);
if (!baseArg || !dataDir) {
  console.error('usage: node bench/portal-session.mjs BASE_URL DATA_DIR');
  process.exit(2);
}
const base = baseArg.replace(/\/$/, '');
const citizen = JSON.parse(readFileSync(`${dataDir}/demo-accounts.json`, 'utf8')).find(
  (a) => a.kind === 'citizen',
);
const jar = new CookieJar();
await browseUntil(jar, `${base}/portal/login?next=/my/applications`, `${base}/my/applications`, {
  nationalId: citizen.national_id,
  password: citizen.password,
});
const cookie = jar
  .header(`${base}/my/applications`)
  .split('; ')
  .find((c) => c.startsWith('ulus-portal='));
if (!cookie) {
  console.error('the portal set no session cookie');
  process.exit(1);
}
console.log(cookie);
