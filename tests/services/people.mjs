// Prepares the people of the services end-to-end test through Dan's own pages (../support/dan.mjs),
// the way they would get there in a browser: sign-up with the code the population register's
// phone receives, roles from the operator's console, an authenticator app (TOTP, RFC 6238) for
// the officers, and access tokens from one authorization code flow with PKCE each as demo-portal.
//   node people.mjs BASE_URL DATA_DIR ULUS_BINARY SPEC.json
// SPEC is
//   {"signups": [{"nationalId", "phone"}],                 accounts to create (password made up)
//    "grants":  [{"nationalId", "agency", "role"}],         `ulus roles grant` for each
//    "tokens":  [{"name", "nationalId", "totp", "scope"}]}  totp: enrol an app, log in at
//                                                           substantial assurance
// Prints {"passwords": {nationalId: password}, "tokens": {name: access token}, "errors": [refused
// grants]} on stdout.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CookieJar, browseUntil } from '../oidc_client/browser.mjs';
import { enrolTotp, passwordLogin, signUp } from '../support/dan.mjs';
import { ulusRunner } from '../support/ulus.mjs';

const [baseArg, dataDir, ulus, specFile] = process.argv.slice(2);
if (!baseArg || !dataDir || !ulus || !specFile) {
  console.error('usage: node people.mjs BASE_URL DATA_DIR ULUS_BINARY SPEC.json');
  process.exit(2);
}
const base = baseArg.replace(/\/$/, '');
const spec = JSON.parse(readFileSync(specFile, 'utf8'));
const kClient = 'demo-portal';
const kRedirect = 'http://127.0.0.1:8089/callback';
const runUlus = ulusRunner(ulus, dataDir);

// --- Tokens -------------------------------------------------------------------------------------

async function accessToken(jar, account, scope, acr) {
  const meta = await (await fetch(`${base}/.well-known/openid-configuration`)).json();
  const secret = readFileSync(`${dataDir}/clients/${kClient}.secret`, 'utf8').trim();
  const basic = `Basic ${Buffer.from(`${kClient}:${encodeURIComponent(secret)}`).toString('base64')}`;
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(meta.authorization_endpoint);
  const params = {
    response_type: 'code',
    client_id: kClient,
    redirect_uri: kRedirect,
    scope,
    prompt: 'consent',
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  };
  if (acr) params.acr_values = acr;
  url.search = new URLSearchParams(params).toString();
  const { url: back } = await browseUntil(jar, url.href, kRedirect, account);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back.search}`);
  const response = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: kRedirect, code_verifier: verifier }),
  });
  const body = await response.json();
  if (!body.access_token) throw new Error(`no access token: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

// --- Main ---------------------------------------------------------------------------------------

const passwords = {};
for (const demo of JSON.parse(readFileSync(`${dataDir}/demo-accounts.json`, 'utf8'))) {
  passwords[demo.national_id] = demo.password;
}
for (const { nationalId, phone } of spec.signups ?? []) {
  passwords[nationalId] = `svc-e2e-${randomBytes(9).toString('base64url')}`;
  await signUp(base, runUlus, { nationalId, phone }, passwords[nationalId]);
}
// A refused grant is reported, not fatal: the test says which check it spoils.
const errors = [];
for (const { nationalId, agency, role } of spec.grants ?? []) {
  try {
    runUlus(['roles', 'grant', '--national-id', nationalId, '--agency', agency, '--role', role]);
  } catch (e) {
    errors.push({ grant: { nationalId, agency, role }, error: e.message });
  }
}
// One browser per account that logs in at substantial assurance: the app is enrolled once and
// later tokens ride on the same session (single sign-on).
const strong = new Map();
const tokens = {};
for (const { name, nationalId, totp = false, scope = 'openid services documents' } of spec.tokens ?? []) {
  const account = { nationalId, password: passwords[nationalId] };
  if (!account.password) throw new Error(`no password for ${nationalId}`);
  let jar;
  if (totp) {
    jar = strong.get(nationalId);
    if (!jar) {
      jar = new CookieJar();
      await passwordLogin(base, jar, account);
      await enrolTotp(base, jar);
      strong.set(nationalId, jar);
    }
  } else {
    jar = new CookieJar();
  }
  tokens[name] = await accessToken(jar, account, scope, totp ? 'substantial' : undefined);
}
process.stdout.write(`${JSON.stringify({ passwords, tokens, errors })}\n`);
