// End-to-end test of Dan, Ulus's OpenID Connect provider, from the relying party's side, with
// openid-client (a certified RP library) and jose, over real HTTP on loopback.
//   node e2e.mjs BASE_URL DATA_DIR        (or E2E_BASE_URL, E2E_DATA_DIR)
// DATA_DIR is the server's --data: it holds demo-accounts.json and clients/<id>.secret.
// E2E_PROFILE=oidc-provider runs the same checks against oidc-provider (bench/oidc-provider,
// --mode e2e), skipping the ones that hold for Dan only (JWT access tokens).
// Prints "ok - ..." / "not ok - ..." per check; exits 0 only when every check passes.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import * as jose from 'jose';
import { CookieJar, browseUntil, request } from './browser.mjs';

const base = (process.argv[2] ?? process.env.E2E_BASE_URL ?? '').replace(/\/$/, '');
const dataDir = process.argv[3] ?? process.env.E2E_DATA_DIR;
const profile = process.env.E2E_PROFILE ?? 'ulus';
if (!base || !dataDir) {
  console.error('usage: node e2e.mjs BASE_URL DATA_DIR');
  process.exit(2);
}
const danOnly = profile === 'ulus';

const kPortal = 'demo-portal';
const kPortalRedirect = 'http://127.0.0.1:8089/callback';
const kPortalLoggedOut = 'http://127.0.0.1:8089/logged-out';
// Ulus's documents API takes only tokens granted its own scope.
const kPortalScope = `openid profile offline_access national_id${profile === 'ulus' ? ' documents' : ''}`;
const kCli = 'ulus-cli';

let passed = 0;
let failed = 0;
let skipped = 0;

function report(ok, name, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? `: ${detail}` : ''}`);
}

function explain(e) {
  if (e instanceof client.ResponseBodyError) return `${e.status} ${e.error}: ${e.error_description ?? ''}`;
  return e?.cause ? `${e.message} (${e.cause.message ?? e.cause})` : String(e?.message ?? e);
}

// Runs one check; fn returns nothing (pass), a string (failure reason) or throws (failure).
async function check(name, fn) {
  try {
    const why = await fn();
    report(!why, name, why || undefined);
    return !why;
  } catch (e) {
    report(false, name, explain(e));
    return false;
  }
}

function skip(name, why) {
  skipped++;
  console.log(`ok - ${name} # SKIP ${why}`);
}

// A failure that leaves nothing further to check.
function fatal(name, e) {
  report(false, name, explain(e));
  finish();
}

function finish() {
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed === 0 ? 0 : 1);
}

async function expectOAuthError(promise, code) {
  try {
    await promise;
    return `expected ${code}, the request succeeded`;
  } catch (e) {
    if (e instanceof client.ResponseBodyError && e.error === code) return undefined;
    return `expected ${code}, got ${explain(e)}`;
  }
}

const basic = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function postForm(url, form, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
    redirect: 'manual',
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

// ---- set-up: the demo accounts and secrets the server wrote, and discovery

const accounts = JSON.parse(readFileSync(`${dataDir}/demo-accounts.json`, 'utf8'));
const citizen = accounts.find((a) => a.kind === 'citizen') ?? accounts[0];
const officer = accounts.find((a) => a.kind === 'officer') ?? accounts[1];
const account = { nationalId: citizen.national_id, password: citizen.password };
const portalSecret = readFileSync(`${dataDir}/clients/${kPortal}.secret`, 'utf8').trim();

let portal;
try {
  portal = await client.discovery(
    new URL(base),
    kPortal,
    { client_secret: portalSecret, id_token_signed_response_alg: 'RS256' },
    client.ClientSecretBasic(portalSecret),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );
} catch (e) {
  fatal('discovery of the issuer and a client configuration for demo-portal', e);
}
const meta = portal.serverMetadata();
await check('discovery: issuer is the base URL and every endpoint is advertised', () => {
  if (meta.issuer.replace(/\/$/, '') !== base) return `issuer ${meta.issuer}`;
  for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
    'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint']) {
    if (!meta[k]) return `no ${k}`;
  }
  if (!meta.code_challenge_methods_supported?.includes('S256')) return 'S256 PKCE not advertised';
  return undefined;
});
const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
const issuer = meta.issuer;

// One authorization request driven through login and consent to the redirect back.
async function authorize(config, jar, { redirectUri, scope, extra = {} }) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const { url: callback, pages } = await browseUntil(jar, url.href, redirectUri, account);
  if (!callback.searchParams.get('code')) {
    throw new Error(`no code in the redirect: ${callback.search}`);
  }
  return { callback, verifier, state, nonce, pages };
}

async function exchange(config, flow) {
  return client.authorizationCodeGrant(config, flow.callback, {
    pkceCodeVerifier: flow.verifier,
    expectedState: flow.state,
    expectedNonce: flow.nonce,
    idTokenExpected: true,
  });
}

async function verifyAccessToken(token, clientId) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });
  if (protectedHeader.alg !== 'ES256') return `alg ${protectedHeader.alg}`;
  if (payload.client_id !== clientId) return `client_id ${payload.client_id}`;
  for (const k of ['sub', 'aud', 'exp', 'iat', 'jti']) if (payload[k] === undefined) return `no ${k}`;
  return undefined;
}

const jar = new CookieJar();
const portalFlow = { redirectUri: kPortalRedirect, scope: kPortalScope, extra: { prompt: 'consent' } };

// ---- A: the code flow for the confidential portal, userinfo, refresh rotation

let flowA;
let tokensA;
try {
  flowA = await authorize(portal, jar, portalFlow);
  report(true, `demo-portal: login and consent end in a redirect with code (pages: ${flowA.pages.join(', ') || 'none'})`);
} catch (e) {
  fatal('demo-portal: login and consent end in a redirect with code', e);
}
await check('demo-portal: the redirect carries state and iss', () => {
  if (flowA.callback.searchParams.get('state') !== flowA.state) return 'state differs';
  if (flowA.callback.searchParams.get('iss') !== issuer) return `iss ${flowA.callback.searchParams.get('iss')}`;
  return undefined;
});
try {
  tokensA = await exchange(portal, flowA);
  report(true, 'demo-portal: authorization_code grant (PKCE S256; ID token signature, nonce, state, iss checked)');
} catch (e) {
  fatal('demo-portal: authorization_code grant', e);
}
const subA = tokensA.claims().sub;
await check('demo-portal: ID token is RS256 and verifies against jwks_uri', async () => {
  const { protectedHeader, payload } = await jose.jwtVerify(tokensA.id_token, jwks, {
    issuer,
    audience: kPortal,
    algorithms: ['RS256'],
  });
  if (payload.nonce !== flowA.nonce) return 'nonce differs';
  return protectedHeader.alg === 'RS256' ? undefined : `alg ${protectedHeader.alg}`;
});
if (danOnly) {
  await check('demo-portal: access token is an ES256 at+jwt that verifies against jwks_uri',
    () => verifyAccessToken(tokensA.access_token, kPortal));
} else {
  skip('demo-portal: access token is an ES256 at+jwt', 'opaque userinfo tokens in this profile');
}
await check('demo-portal: userinfo answers for the ID token subject', async () => {
  const info = await client.fetchUserInfo(portal, tokensA.access_token, subA);
  return info.sub === subA ? undefined : 'sub differs';
});
await check('demo-portal: userinfo carries the national ID (scope national_id)', async () => {
  const info = await client.fetchUserInfo(portal, tokensA.access_token, subA);
  return Object.values(info).includes(citizen.national_id) ? undefined : `claims ${Object.keys(info)}`;
});

// Khur and the data tracker: the platform's node reads the citizen from the civil registry, and
// the citizen, with their own access token, sees who read it and why.
if (danOnly) {
  const ports = JSON.parse(readFileSync(`${dataDir}/nodes/ports.json`, 'utf8'));
  const platformNode = `http://127.0.0.1:${ports.MDDIC.client}`;
  const readPath = '/r1/MN/GOV/GASR/civil-registry/person/1.0/read';
  const readBody = JSON.stringify({ query: { content: { id: citizen.national_id } } });
  const khurHeaders = {
    'x-road-client': 'MN/GOV/MDDIC/platform',
    'x-road-userid': 'officer-e2e',
    // Header values are bytes: a Cyrillic register number travels percent-encoded.
    'ulus-subject': encodeURIComponent(citizen.national_id),
    'ulus-purpose': 'e2e-check',
    'content-type': 'application/json',
  };
  await check('khur: the platform reads the citizen from the civil registry through the nodes', async () => {
    const r = await fetch(platformNode + readPath, { method: 'POST', headers: khurHeaders, body: readBody });
    if (r.status !== 200) return `status ${r.status}: ${await r.text()}`;
    const body = await r.json();
    if (body.content?.id !== citizen.national_id) return 'another record';
    for (const h of ['x-road-id', 'x-road-request-id', 'x-road-request-hash', 'x-road-service']) {
      if (!r.headers.get(h)) return `no ${h}`;
    }
    return r.headers.get('khur-signature') ? 'the node signature leaked to the client' : undefined;
  });
  await check('khur: a call without X-Road-Client is Client.InvalidClientIdentifier (400)', async () => {
    const { 'x-road-client': _, ...rest } = khurHeaders;
    const r = await fetch(platformNode + readPath, { method: 'POST', headers: rest, body: readBody });
    return r.status === 400 && r.headers.get('x-road-error') === 'Client.InvalidClientIdentifier'
      ? undefined : `status ${r.status}, ${r.headers.get('x-road-error')}`;
  });
  await check('khur: the registries refuse a caller that goes around the nodes (401)', async () => {
    const r = await fetch(`${base}/data/person/1.0/read`, {
      method: 'POST', body: readBody,
      headers: { 'information-mediator-client': 'MN/GOV/MDDIC/platform', 'content-type': 'application/json' },
    });
    return r.status === 401 ? undefined : `status ${r.status}`;
  });
  const usageUrl = `${base}/data/myPersonalDataUsage`;
  const bearer = { authorization: `Bearer ${tokensA.access_token}` };
  await check('data tracker: the citizen sees the read, with institution, officer and purpose', async () => {
    const r = await fetch(usageUrl, { headers: bearer });
    if (r.status !== 200) return `status ${r.status}: ${await r.text()}`;
    const records = await r.json();
    const seen = records.find((u) => u.purpose === 'e2e-check');
    if (!seen) return `no record among ${records.length}`;
    if (seen.readerInstitutionId !== 'MDDIC' || seen.readerId !== 'officer-e2e' ||
        seen.readerApplicationName !== 'platform' || seen.databaseId !== 'person') {
      return JSON.stringify(seen);
    }
    return Number.isNaN(Date.parse(seen.searchDateTime)) ? 'no searchDateTime' : undefined;
  });
  await check('data tracker: another person\'s userId is refused (403)', async () => {
    const r = await fetch(`${usageUrl}?userId=XX00000000`, { headers: bearer });
    return r.status === 403 ? undefined : `status ${r.status}`;
  });
  await check('data tracker: without a token 401, with a client\'s token 403', async () => {
    const none = await fetch(usageUrl);
    if (none.status !== 401) return `no token: ${none.status}`;
    const backendSecret = readFileSync(`${dataDir}/clients/demo-backend.secret`, 'utf8').trim();
    const cc = await postForm(meta.token_endpoint, { grant_type: 'client_credentials' },
      { authorization: basic('demo-backend', backendSecret) });
    if (!cc.json?.access_token) return `no client token: ${JSON.stringify(cc.json)}`;
    const r = await fetch(usageUrl, { headers: { authorization: `Bearer ${cc.json.access_token}` } });
    return r.status === 403 ? undefined : `client token: ${r.status}`;
  });

  // Documents from the holder's side: the civil registry's back-end issues the citizen an address
  // reference; the citizen sees it, how often it was verified, discloses only a field and "over
  // 18", and cannot reach another person's document.
  const gasrSecret = readFileSync(`${dataDir}/clients/demo-backend.secret`, 'utf8').trim();
  const gasrToken = (await postForm(meta.token_endpoint, { grant_type: 'client_credentials' },
    { authorization: basic('demo-backend', gasrSecret) })).json?.access_token;
  const issue = async (holder) => {
    const r = await fetch(`${base}/documents/v1/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gasrToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        template: 'address-reference', holder,
        claims: { national_id: holder, family_name: 'Батболд', given_name: 'Сарнай',
          birth_date: '1990-05-01', address: 'Улаанбаатар', region: 'Улаанбаатар',
          registered_since: '2012-01-01' },
      }),
    });
    return r.status === 201 ? r.json() : Promise.reject(new Error(`issue: ${r.status} ${await r.text()}`));
  };
  const verify = (credential) => fetch(`${base}/documents/v1/verify`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ credential }),
  }).then((r) => r.json());
  let mine;
  let others;
  try {
    mine = await issue(citizen.national_id);
    others = await issue(officer.national_id);
  } catch (e) {
    fatal('documents: issuing for the citizen', e);
  }
  await check('documents: the citizen sees the document and how often it was verified', async () => {
    await verify(mine.credential);
    await verify(mine.credential);
    const r = await fetch(`${base}/documents/v1/mine`, { headers: bearer });
    if (r.status !== 200) return `status ${r.status}`;
    const docs = await r.json();
    const found = docs.find((d) => d.id === mine.id);
    if (!found) return 'not listed';
    if (docs.some((d) => d.id === others.id)) return 'another person\'s document is listed';
    const list = await fetch(`${base}/documents/v1/documents/${mine.id}/verifications`, { headers: bearer });
    const records = await list.json();
    return found.verifications === 2 && records.length === 2 && records[0].verdict === 'genuine'
      ? undefined : `count ${found.verifications}, records ${JSON.stringify(records)}`;
  });
  await check('documents: a disclosure shows only the chosen field and "over 18"', async () => {
    const r = await fetch(`${base}/documents/v1/documents/${mine.id}/disclosures`, {
      method: 'POST', headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ fields: ['given_name'], predicates: ['age_over_18'] }),
    });
    if (r.status !== 201) return `status ${r.status}: ${await r.text()}`;
    const disclosure = await r.json();
    const v = await verify(disclosure.credential);
    const keys = Object.keys(v.disclosed ?? {}).sort().join(',');
    if (v.verdict !== 'genuine' || !v.disclosure || keys !== 'age_over_18,given_name') return JSON.stringify(v);
    const payload = JSON.parse(Buffer.from(disclosure.credential.split('.')[1], 'base64url').toString());
    return JSON.stringify(payload).includes(citizen.national_id) ? 'the national ID leaked' : undefined;
  });
  await check('documents: the citizen sees when the issuing agency read their document', async () => {
    const read = await fetch(`${base}/documents/v1/documents/${mine.id}`,
      { headers: { authorization: `Bearer ${gasrToken}` } });
    if (read.status !== 200) return `agency read: ${read.status}`;
    const r = await fetch(`${base}/documents/v1/documents/${mine.id}/accesses`, { headers: bearer });
    const reads = await r.json();
    return r.status === 200 && reads.some((a) => a.who === 'client:demo-backend' && a.action === 'read')
      ? undefined : `status ${r.status}: ${JSON.stringify(reads)}`;
  });
  await check('documents: the citizen downloads the PDF of their document', async () => {
    const r = await fetch(`${base}/documents/v1/documents/${mine.id}/pdf`, { headers: bearer });
    const bytes = Buffer.from(await r.arrayBuffer());
    return r.status === 200 && bytes.subarray(0, 5).toString() === '%PDF-' ? undefined : `status ${r.status}`;
  });
  await check('documents: another person\'s document, PDF and disclosure are 404 to the citizen', async () => {
    const paths = [`/documents/v1/documents/${others.id}`, `/documents/v1/documents/${others.id}/pdf`,
      `/documents/v1/documents/${others.id}/verifications`, `/documents/v1/documents/${others.id}/accesses`];
    for (const path of paths) {
      const r = await fetch(base + path, { headers: bearer });
      if (r.status !== 404) return `${path}: ${r.status}`;
    }
    const r = await fetch(`${base}/documents/v1/documents/${others.id}/disclosures`, {
      method: 'POST', headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ fields: ['given_name'] }),
    });
    return r.status === 404 ? undefined : `disclosure: ${r.status}`;
  });
  await check('documents: a citizen cannot revoke a document (only its agency)', async () => {
    const r = await fetch(`${base}/documents/v1/documents/${mine.id}/revoke`, {
      method: 'POST', headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'I do not like it' }),
    });
    return r.status === 403 ? undefined : `status ${r.status}`;
  });
}

const rt1 = tokensA.refresh_token;
let rt2;
await check('demo-portal: a refresh token is issued (offline_access)', () => (rt1 ? undefined : 'none'));
await check('refresh_token grant rotates: a new refresh token and access token', async () => {
  const r = await client.refreshTokenGrant(portal, rt1);
  rt2 = r.refresh_token;
  if (!rt2) return 'no new refresh token';
  if (rt2 === rt1) return 'the refresh token did not change';
  if (!r.access_token) return 'no access token';
  return undefined;
});
await check('reusing the rotated-out refresh token fails with invalid_grant', () =>
  rt2 ? expectOAuthError(client.refreshTokenGrant(portal, rt1), 'invalid_grant') : 'no rotation happened (see above)');
await check('after reuse the whole family is revoked: the newest refresh token fails too', () =>
  rt2 ? expectOAuthError(client.refreshTokenGrant(portal, rt2), 'invalid_grant') : 'no rotated token to try (rotation failed)');

// ---- B: introspection and revocation

let tokensB;
try {
  const flowB = await authorize(portal, jar, portalFlow);
  tokensB = await exchange(portal, flowB);
  report(true, `demo-portal: a second authorization on the same session (pages: ${flowB.pages.join(', ') || 'none'})`);
} catch (e) {
  fatal('demo-portal: a second authorization on the same session', e);
}
await check('introspection: a fresh access token is active, for its client and subject', async () => {
  const r = await client.tokenIntrospection(portal, tokensB.access_token);
  if (r.active !== true) return `active ${r.active}`;
  if (r.client_id && r.client_id !== kPortal) return `client_id ${r.client_id}`;
  if (r.sub && r.sub !== tokensB.claims().sub) return `sub ${r.sub}`;
  return undefined;
});
await check('revocation of the access token, then introspection says active false', async () => {
  await client.tokenRevocation(portal, tokensB.access_token, { token_type_hint: 'access_token' });
  const r = await client.tokenIntrospection(portal, tokensB.access_token);
  return r.active === false ? undefined : `active ${r.active}`;
});
await check('userinfo refuses the revoked access token with 401', async () => {
  const r = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokensB.access_token}` } });
  return r.status === 401 ? undefined : `HTTP ${r.status}`;
});
await check('revocation of a working refresh token, then the refresh_token grant fails with invalid_grant', async () => {
  // A grant of its own (revoking B's access token may revoke B's grant, RFC 7009 §2.1), and one
  // rotation first, so the failure afterwards is the revocation's doing.
  const tokens = await exchange(portal, await authorize(portal, jar, portalFlow));
  const { refresh_token: working } = await client.refreshTokenGrant(portal, tokens.refresh_token);
  await client.tokenRevocation(portal, working, { token_type_hint: 'refresh_token' });
  return expectOAuthError(client.refreshTokenGrant(portal, working), 'invalid_grant');
});

// ---- negative checks with raw requests

const portalAuth = { authorization: basic(kPortal, portalSecret) };
await check('token endpoint: a wrong PKCE verifier fails with invalid_grant', async () => {
  const flow = await authorize(portal, jar, portalFlow);
  const r = await postForm(meta.token_endpoint, {
    grant_type: 'authorization_code',
    code: flow.callback.searchParams.get('code'),
    redirect_uri: kPortalRedirect,
    code_verifier: client.randomPKCECodeVerifier(),
  }, portalAuth);
  return r.status === 400 && r.json?.error === 'invalid_grant' ? undefined : `HTTP ${r.status} ${r.text.slice(0, 200)}`;
});
await check('token endpoint: a reused code fails with invalid_grant and revokes what it issued', async () => {
  const flow = await authorize(portal, jar, portalFlow);
  const form = {
    grant_type: 'authorization_code',
    code: flow.callback.searchParams.get('code'),
    redirect_uri: kPortalRedirect,
    code_verifier: flow.verifier,
  };
  const first = await postForm(meta.token_endpoint, form, portalAuth);
  if (first.status !== 200) return `first exchange: HTTP ${first.status} ${first.text.slice(0, 200)}`;
  const second = await postForm(meta.token_endpoint, form, portalAuth);
  if (second.status !== 400 || second.json?.error !== 'invalid_grant') {
    return `second exchange: HTTP ${second.status} ${second.text.slice(0, 200)}`;
  }
  const r = await client.tokenIntrospection(portal, first.json.access_token);
  return r.active === false ? undefined : 'the first access token is still active';
});
await check('token endpoint: a wrong client secret fails with 401 invalid_client', async () => {
  const r = await postForm(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: 'x' },
    { authorization: basic(kPortal, `${portalSecret}x`) });
  return r.status === 401 && r.json?.error === 'invalid_client' ? undefined : `HTTP ${r.status} ${r.text.slice(0, 200)}`;
});
await check('authorize: an unregistered redirect_uri gets an error page (400), no redirect', async () => {
  const url = client.buildAuthorizationUrl(portal, {
    redirect_uri: 'http://127.0.0.1:8089/not-registered',
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: client.randomState(),
  });
  const page = await request(jar, url.href);
  if (page.location) return `redirected to ${page.location}`;
  return page.status === 400 ? undefined : `HTTP ${page.status}`;
});
await check('userinfo: an unsigned (alg none) token gets 401 with a Bearer challenge', async () => {
  const now = Math.floor(Date.now() / 1000);
  let claims = { iss: issuer, sub: subA, aud: issuer, client_id: kPortal, scope: 'openid profile', iat: now, exp: now + 600, jti: client.randomState() };
  if (danOnly) claims = { ...jose.decodeJwt(tokensA.access_token), exp: now + 600 };
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = `${part({ alg: 'none', typ: 'at+jwt' })}.${part(claims)}.`;
  const r = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 401) return `HTTP ${r.status}`;
  return /^Bearer/i.test(r.headers.get('www-authenticate') ?? '') ? undefined : 'no WWW-Authenticate: Bearer';
});

// ---- RP-initiated logout

await check('logout: end_session with id_token_hint returns to post_logout_redirect_uri with state', async () => {
  const state = client.randomState();
  const url = client.buildEndSessionUrl(portal, {
    id_token_hint: tokensB.id_token,
    post_logout_redirect_uri: kPortalLoggedOut,
    state,
  });
  const { url: back } = await browseUntil(jar, url.href, kPortalLoggedOut, account);
  return back.searchParams.get('state') === state ? undefined : `state ${back.searchParams.get('state')}`;
});

// ---- the public native client on a random loopback port (RFC 8252 §7.3)

let cli;
try {
  cli = await client.discovery(new URL(base), kCli, { token_endpoint_auth_method: 'none' }, client.None(),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] });
} catch (e) {
  fatal('discovery for ulus-cli', e);
}
const port = 49152 + Math.floor(Math.random() * 16000);
const cliRedirect = `http://127.0.0.1:${port}/callback`;
let cliTokens;
await check(`ulus-cli: code flow with PKCE to ${cliRedirect} asks for a login again after logout`, async () => {
  const flow = await authorize(cli, jar, { redirectUri: cliRedirect, scope: 'openid profile' });
  cliTokens = await exchange(cli, flow);
  return flow.pages.includes('login') ? undefined : `no login page (pages: ${flow.pages.join(', ')}): the session outlived logout`;
});
if (cliTokens) {
  await check('ulus-cli: userinfo answers for the ID token subject', async () => {
    const sub = cliTokens.claims().sub;
    const info = await client.fetchUserInfo(cli, cliTokens.access_token, sub);
    return info.sub === sub ? undefined : 'sub differs';
  });
  if (danOnly) {
    await check('ulus-cli: access token is an ES256 at+jwt that verifies against jwks_uri',
      () => verifyAccessToken(cliTokens.access_token, kCli));
    await check('documents: a token granted without the documents scope is refused (403)', async () => {
      const r = await fetch(`${base}/documents/v1/mine`,
        { headers: { authorization: `Bearer ${cliTokens.access_token}` } });
      return r.status === 403 ? undefined : `status ${r.status}`;
    });
  }
}
await check('ulus-cli: an authorization request without PKCE is refused', async () => {
  const url = client.buildAuthorizationUrl(cli, {
    redirect_uri: cliRedirect,
    scope: 'openid',
    state: client.randomState(),
  });
  let page = await request(jar, url.href);
  for (let i = 0; i < 5 && page.location && !page.location.startsWith(cliRedirect); i++) {
    page = await request(jar, page.location);
  }
  if (page.status === 400 && !page.location) return undefined;
  if (page.location?.startsWith(cliRedirect)) {
    const back = new URL(page.location);
    if (back.searchParams.get('error') && !back.searchParams.get('code')) return undefined;
    return `redirected back with ${back.search}`;
  }
  return `HTTP ${page.status}${page.location ? ` to ${page.location}` : ''}`;
});

// The command line as a native client: `ulus login` prints the address to open and waits on its
// own loopback port; the "browser" here logs in and follows the redirect to that port.
function run(binary, args) {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out, errors: () => err };
}

const ulusBinary = process.env.ULUS_BINARY;
if (!danOnly || !ulusBinary) {
  skip('ulus login: the command line logs in through the browser', 'needs ULUS_BINARY and Dan');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ulus-login-'));
  const credentials = join(dir, 'credentials.json');
  await check('ulus login: the command line logs in through the browser and keeps the tokens', async () => {
    const login = run(ulusBinary, ['login', '--issuer', base, '--credentials', credentials]);
    let url;
    for (let i = 0; i < 100 && !url; i++) {
      url = login.output().match(/https?:\/\/\S+\/oidc\/authorize\S+/)?.[0];
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    if (!url) {
      login.child.kill();
      return `no authorization address printed: ${login.output()} ${login.errors()}`;
    }
    const redirect = new URL(url).searchParams.get('redirect_uri');
    const cliJar = new CookieJar();
    const { url: callback } = await browseUntil(cliJar, url, redirect, account);
    await request(cliJar, callback.href);
    const code = await login.exited;
    if (code !== 0) return `ulus login exited ${code}: ${login.errors()}`;
    if (!/Logged in as/.test(login.output())) return `unexpected output: ${login.output()}`;
    const saved = JSON.parse(readFileSync(credentials, 'utf8'));
    if (!saved.access_token || !saved.refresh_token) return 'tokens missing from the file';
    if ((statSync(credentials).mode & 0o077) !== 0) return 'the credentials file is readable by others';
    await verifyAccessToken(saved.access_token, kCli);
    return undefined;
  });
  await check('ulus logout: revokes the saved refresh token and deletes the file', async () => {
    const saved = JSON.parse(readFileSync(credentials, 'utf8'));
    const logout = run(ulusBinary, ['logout', '--credentials', credentials]);
    const code = await logout.exited;
    if (code !== 0) return `ulus logout exited ${code}: ${logout.errors()}`;
    try {
      statSync(credentials);
      return 'the credentials file is still there';
    } catch {}
    const answer = await postForm(meta.token_endpoint, {
      grant_type: 'refresh_token',
      refresh_token: saved.refresh_token,
      client_id: kCli,
    });
    if (answer.status !== 400 || answer.json?.error !== 'invalid_grant') {
      return `the refresh token still works: HTTP ${answer.status} ${JSON.stringify(answer.json)}`;
    }
    return undefined;
  });
  rmSync(dir, { recursive: true, force: true });
}

finish();
