// Prepares the people of the services end-to-end test through Dan's own pages, the way they would
// get there in a browser: sign-up with the code the population register's phone receives, roles
// from the operator's console, an authenticator app (TOTP, RFC 6238) for the officers, and access
// tokens from one authorization code flow with PKCE each as demo-portal.
//   node people.mjs BASE_URL DATA_DIR ULUS_BINARY SPEC.json
// SPEC is
//   {"signups": [{"nationalId", "phone"}],                 accounts to create (password made up)
//    "grants":  [{"nationalId", "agency", "role"}],         `ulus roles grant` for each
//    "tokens":  [{"name", "nationalId", "totp", "scope"}]}  totp: enrol an app, log in at
//                                                           substantial assurance
// Prints {"passwords": {nationalId: password}, "tokens": {name: access token}, "errors": [refused
// grants]} on stdout.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { CookieJar, browseUntil, formData, loginData, parseForms, request } from '../oidc_client/browser.mjs';

const [baseArg, dataDir, ulus, specFile] = process.argv.slice(2);
if (!baseArg || !dataDir || !ulus || !specFile) {
  console.error('usage: node people.mjs BASE_URL DATA_DIR ULUS_BINARY SPEC.json');
  process.exit(2);
}
const base = baseArg.replace(/\/$/, '');
const spec = JSON.parse(readFileSync(specFile, 'utf8'));
const kClient = 'demo-portal';
const kRedirect = 'http://127.0.0.1:8089/callback';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The ulus binary may be replaced by a rebuild for a moment: wait for it to come back.
async function runUlus(args) {
  for (let attempt = 0; ; attempt++) {
    try {
      return execFileSync(ulus, ['--log-level', 'warn', '--data', dataDir, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      const missing = e.code === 'ENOENT' || e.code === 'ETXTBSY' || !existsSync(ulus);
      if (!missing || attempt >= 60) {
        throw new Error(`ulus ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
      }
      await sleep(1000);
    }
  }
}

// --- TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps) ----------------------------------------------

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function hotp(secret, counter) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 1_000_000).padStart(6, '0');
}

const currentStep = () => Math.floor(Date.now() / 1000 / 30);

// --- Pages --------------------------------------------------------------------------------------

function formOf(page, pathPart) {
  const forms = parseForms(page.text, page.url);
  const form = forms.find((f) => f.action.includes(pathPart));
  if (!form) throw new Error(`no form for ${pathPart} on HTTP ${page.status} ${page.url}: ${page.text.slice(0, 400)}`);
  return form;
}

async function signUp(nationalId, phone, password) {
  const jar = new CookieJar();
  let page = await request(jar, `${base}/dan/signup?lang=en`);
  let form = formOf(page, '/dan/signup');
  const start = formData(form);
  start.set('national_id', nationalId);
  page = await request(jar, form.action, { method: 'POST', form: start });
  if (page.status !== 200) throw new Error(`sign-up of ${nationalId}: HTTP ${page.status}`);
  let code;
  for (let attempt = 0; attempt < 50 && !code; attempt++) {
    const messages = await runUlus(['messages', '--to', phone, '--limit', '1']);
    code = messages.match(/sign-up code is (\d{6})/)?.[1];
    if (!code) await sleep(100);
  }
  if (!code) throw new Error(`no sign-up code reached ${phone}`);
  form = formOf(page, '/dan/signup/verify');
  const verify = formData(form);
  verify.set('national_id', nationalId);
  verify.set('code', code);
  verify.set('password', password);
  verify.set('password_again', password);
  page = await request(jar, form.action, { method: 'POST', form: verify });
  if (page.status !== 303) throw new Error(`sign-up of ${nationalId} not completed: HTTP ${page.status} ${page.text.slice(0, 300)}`);
}

async function passwordLogin(jar, account) {
  const page = await request(jar, `${base}/dan/login?lang=en`);
  const form = formOf(page, '/dan/login');
  const done = await request(jar, form.action, { method: 'POST', form: loginData(form, account) });
  if (done.status !== 303) throw new Error(`login of ${account.nationalId}: HTTP ${done.status}`);
}

// Enrols an authenticator app on the signed-in account; the confirming code also raises the
// session to substantial assurance. Returns the secret.
async function enrolTotp(jar) {
  const page = await request(jar, `${base}/dan/account/totp?lang=en`);
  if (page.status !== 200) throw new Error(`TOTP page: HTTP ${page.status} ${page.location ?? ''}`);
  const secretText = page.text.match(/secret=([A-Z2-7]+)/)?.[1];
  if (!secretText) throw new Error('the TOTP page shows no secret');
  const secret = base32Decode(secretText);
  const form = formOf(page, '/dan/account/totp');
  const data = formData(form);
  data.set('code', hotp(secret, currentStep()));
  const done = await request(jar, form.action, { method: 'POST', form: data });
  if (done.status !== 200 || !/recovery/i.test(done.text)) {
    throw new Error(`TOTP enrolment refused: HTTP ${done.status} ${done.text.slice(0, 300)}`);
  }
  return secret;
}

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
  await signUp(nationalId, phone, passwords[nationalId]);
}
// A refused grant is reported, not fatal: the test says which check it spoils.
const errors = [];
for (const { nationalId, agency, role } of spec.grants ?? []) {
  try {
    await runUlus(['roles', 'grant', '--national-id', nationalId, '--agency', agency, '--role', role]);
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
      await passwordLogin(jar, account);
      await enrolTotp(jar);
      strong.set(nationalId, jar);
    }
  } else {
    jar = new CookieJar();
  }
  tokens[name] = await accessToken(jar, account, scope, totp ? 'substantial' : undefined);
}
process.stdout.write(`${JSON.stringify({ passwords, tokens, errors })}\n`);
