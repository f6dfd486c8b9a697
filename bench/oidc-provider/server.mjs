// oidc-provider (panva's certified OpenID Provider) configured like Dan, as the peer of
// bench/oidc.sh and as a reference OP for tests/oidc_client/e2e.mjs. Loopback only.
//
//   node server.mjs --data DIR [--port 0] [--workers 2] [--mode bench|e2e]
//
// Writes DIR/clients/<client_id>.secret for its confidential clients and logs
// "serving on http://127.0.0.1:PORT" on stderr when every worker listens.
//
// --mode bench (default): a node cluster of --workers processes. Clients: "demo-backend"
//   (client_credentials, client_secret_basic) and "bench-refresh" (authorization_code +
//   refresh_token, client_secret_basic). client_credentials and refresh access tokens are JWTs
//   signed ES256 (resource indicator urn:ulus:api), ID tokens RS256, refresh tokens rotate. The
//   default in-memory adapter keeps grants, so each worker knows only its own tokens.
//   BENCH-ONLY route: POST /bench/refresh-token creates a grant and a refresh token for
//   "bench-refresh" without a browser and answers {"refresh_token": ...}. Rotate that token on
//   the same keep-alive connection (the same worker) that minted it. client_credentials with
//   resource=urn:ulus:opaque gets an opaque token, the only kind its introspection accepts.
// --mode e2e: one process with oidc-provider's development login and consent pages (any login,
//   any password), clients "demo-portal" and "ulus-cli" as in Ulus's mn pack, and
//   DIR/demo-accounts.json, so e2e.mjs can be run against it.

import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    port: { type: 'string', default: '0' },
    workers: { type: 'string', default: '2' },
    mode: { type: 'string', default: 'bench' },
  },
});
const kResource = 'urn:ulus:api';
const kOpaqueResource = 'urn:ulus:opaque';
const kHost = '127.0.0.1';

// Keys, cookie keys and client secrets are made once in the primary and shared with the workers.
function makeSharedState() {
  const jwk = (pair, alg) => ({
    ...pair.privateKey.export({ format: 'jwk' }),
    alg,
    use: 'sig',
    kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`,
  });
  const secret = () => randomBytes(32).toString('base64url');
  return {
    jwks: {
      keys: [
        jwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS256'),
        jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'),
      ],
    },
    cookieKeys: [secret()],
    secrets: { 'demo-backend': secret(), 'bench-refresh': secret(), 'demo-portal': secret() },
  };
}

function clients(mode, secrets) {
  if (mode === 'e2e') {
    return [
      {
        client_id: 'demo-portal',
        client_secret: secrets['demo-portal'],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1:8089/callback'],
        post_logout_redirect_uris: ['http://127.0.0.1:8089/logged-out'],
        scope: 'openid profile offline_access national_id',
      },
      {
        client_id: 'ulus-cli',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
    ];
  }
  return [
    {
      client_id: 'demo-backend',
      client_secret: secrets['demo-backend'],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'bench-refresh',
      client_secret: secrets['bench-refresh'],
      token_endpoint_auth_method: 'client_secret_basic',
      // As Ulus's bench-portal: ES256 ID tokens, so neither side's figure is RSA signing.
      id_token_signed_response_alg: 'ES256',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:8089/callback'],
      scope: 'openid offline_access api',
    },
  ];
}

function configuration(mode, shared) {
  const bench = mode === 'bench';
  return {
    clients: clients(mode, shared.secrets),
    jwks: shared.jwks,
    cookies: { keys: shared.cookieKeys },
    scopes: ['openid', 'offline_access', 'profile', 'national_id', 'api'],
    claims: { openid: ['sub'], profile: ['name'], national_id: ['national_id'] },
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, name: 'Demo Citizen', national_id: id }),
    }),
    // Lifetimes as Dan's defaults (OidcOptions).
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      IdToken: 600,
      AuthorizationCode: 60,
      RefreshToken: 30 * 24 * 3600,
      Grant: 30 * 24 * 3600,
      Interaction: 600,
      Session: 24 * 3600,
    },
    rotateRefreshToken: true,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: !bench },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // client_credentials without a resource parameter gets the API as audience (a JWT).
        defaultResource: async (_ctx, client, oneOf) =>
          oneOf ?? (bench && client.clientId === 'demo-backend' ? kResource : undefined),
        // Refresh tokens minted with the API resource keep getting JWT access tokens for it.
        useGrantedResource: async () => bench,
        // oidc-provider will not introspect its JWT access tokens (unsupported_token_type), so
        // the introspection benchmark asks for resource=urn:ulus:opaque: an opaque token.
        getResourceServerInfo: async (_ctx, resource) =>
          resource === kOpaqueResource
            ? { scope: 'api', audience: kOpaqueResource, accessTokenFormat: 'opaque', accessTokenTTL: 600 }
            : {
                scope: 'api',
                audience: kResource,
                accessTokenFormat: 'jwt',
                accessTokenTTL: 600,
                jwt: { sign: { alg: 'ES256' } },
              },
      },
    },
  };
}

// BENCH-ONLY: a grant and a refresh token for "bench-refresh", as a code exchange would leave
// them, without a browser. Only mounted in --mode bench.
function mountBenchRoute(provider) {
  let minted = 0;
  provider.use(async (ctx, next) => {
    if (ctx.path !== '/bench/refresh-token' || ctx.method !== 'POST') return next();
    const accountId = `bench-${process.pid}-${++minted}`;
    const client = await provider.Client.find('bench-refresh');
    const grant = new provider.Grant({ accountId, clientId: client.clientId });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(kResource, 'api');
    const grantId = await grant.save();
    const refreshToken = new provider.RefreshToken({
      accountId,
      client,
      grantId,
      gty: 'authorization_code',
      authTime: Math.floor(Date.now() / 1000),
      scope: 'openid offline_access api',
      resource: kResource,
    });
    ctx.type = 'application/json';
    ctx.body = { refresh_token: await refreshToken.save() };
  });
}

// One worker (or the single process): listen first, so a --port 0 is known, then build the
// provider with its issuer.
function serve(mode, shared, port) {
  let handler = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = http.createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 60_000;
  server.listen(port, kHost, () => {
    const issuer = `http://${kHost}:${server.address().port}`;
    const provider = new Provider(issuer, configuration(mode, shared));
    if (mode === 'bench') mountBenchRoute(provider);
    handler = provider.callback();
    if (cluster.isWorker) process.send({ listening: server.address().port });
  });
  return server;
}

function writeSecrets(dir, mode, secrets) {
  mkdirSync(`${dir}/clients`, { recursive: true });
  for (const c of clients(mode, secrets)) {
    if (c.client_secret) writeFileSync(`${dir}/clients/${c.client_id}.secret`, `${c.client_secret}\n`);
  }
  if (mode === 'e2e') {
    // Any login passes oidc-provider's development pages; the account id is the login given.
    const accounts = [{ kind: 'citizen', national_id: 'УБ99010112', password: 'correct horse battery' }];
    writeFileSync(`${dir}/demo-accounts.json`, `${JSON.stringify(accounts, null, 2)}\n`);
  }
}

if (cluster.isWorker) {
  serve(process.env.BENCH_OP_MODE, JSON.parse(process.env.BENCH_OP_SHARED), Number(process.env.BENCH_OP_PORT));
} else {
  if (!args.data || !['bench', 'e2e'].includes(args.mode)) {
    console.error('usage: node server.mjs --data DIR [--port 0] [--workers 2] [--mode bench|e2e]');
    process.exit(2);
  }
  const shared = makeSharedState();
  writeSecrets(args.data, args.mode, shared.secrets);
  const workers = args.mode === 'e2e' ? 1 : Number(args.workers);
  if (workers <= 1) {
    const server = serve(args.mode, shared, Number(args.port));
    server.on('listening', () => console.error(`serving on http://${kHost}:${server.address().port}`));
    process.on('SIGTERM', () => process.exit(0));
  } else {
    const env = { BENCH_OP_MODE: args.mode, BENCH_OP_SHARED: JSON.stringify(shared), BENCH_OP_PORT: args.port };
    let listening = 0;
    for (let i = 0; i < workers; i++) {
      cluster.fork(env).on('message', (m) => {
        if (m.listening && ++listening === workers) console.error(`serving on http://${kHost}:${m.listening}`);
      });
    }
    cluster.on('exit', (worker, code) => {
      console.error(`worker ${worker.process.pid} exited (${code}); stopping`);
      process.exit(1);
    });
    const stop = () => {
      cluster.removeAllListeners('exit');
      for (const w of Object.values(cluster.workers)) w.kill();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }
}
