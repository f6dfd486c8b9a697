// Mints refresh tokens for bench/oidc.sh without a browser: logs in once as the first demo
// citizen, then runs the authorization code flow (PKCE S256) N times on that session, so each
// token starts its own family (one family rotated by many connections would trip reuse
// detection). Prints the tokens one per line.
//   node mint-refresh-tokens.mjs BASE_URL DATA_DIR N [CLIENT_ID] [SCOPE] [KIND] > tokens.txt
// CLIENT_ID (default demo-portal) is a confidential client_secret_basic client whose secret is
// DATA_DIR/clients/<id>.secret and whose redirect URI is http://127.0.0.1:8089/callback. SCOPE
// defaults to "openid offline_access"; KIND "access" prints access tokens instead (for load
// tests of the APIs a citizen calls, e.g. bench/services.sh with "openid services documents").

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CookieJar, browseUntil } from './browser.mjs';

const [baseArg, dataDir, countArg, clientId = 'demo-portal', scope = 'openid offline_access',
  kind = 'refresh'] = process.argv.slice(2);
if (!baseArg || !dataDir || !countArg) {
  console.error('usage: node mint-refresh-tokens.mjs BASE_URL DATA_DIR N [CLIENT_ID]');
  process.exit(2);
}
const base = baseArg.replace(/\/$/, '');
const count = Number(countArg);
const kRedirect = 'http://127.0.0.1:8089/callback';

const citizen = JSON.parse(readFileSync(`${dataDir}/demo-accounts.json`, 'utf8')).find((a) => a.kind === 'citizen');
const account = { nationalId: citizen.national_id, password: citizen.password };
const secret = readFileSync(`${dataDir}/clients/${clientId}.secret`, 'utf8').trim();
const meta = await (await fetch(`${base}/.well-known/openid-configuration`)).json();
const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const jar = new CookieJar();

async function mintOne() {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: kRedirect,
    scope,
    prompt: 'consent',
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const { url: back } = await browseUntil(jar, url.href, kRedirect, account);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back.search}`);
  const response = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: kRedirect, code_verifier: verifier }),
  });
  const body = await response.json();
  const token = kind === 'access' ? body.access_token : body.refresh_token;
  if (!token) throw new Error(`no ${kind} token: HTTP ${response.status} ${JSON.stringify(body)}`);
  return token;
}

// One after another: the first flow logs in, the rest reuse its session. Parallel flows on one
// session race on its cookies (CSRF, interaction state).
const tokens = [];
while (tokens.length < count) tokens.push(await mintOne());
process.stdout.write(`${tokens.join('\n')}\n`);
