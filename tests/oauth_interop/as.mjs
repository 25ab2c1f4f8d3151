// Test authorization server for the MCP gateway: oidc-provider (pinned 8.8.1, the newest line
// that supports Node 20; it serves OpenID Connect discovery only, no RFC 8414 path) configured for
// client_credentials + RFC 8707 resource indicators -> RS256/ES256 JWT access tokens (typ at+jwt).
//
// Env:
//   AS_PORT            listen port (required; 0 = pick one, the real port is printed)
//   AS_HOST            bind address and issuer host (default 127.0.0.1)
//   AS_TOKEN_TTL       access-token lifetime in seconds (default 300); changeable via POST /ttl
//   AS_AT_ALG          RS256 (default) or ES256: the alg access tokens are signed with
//   AS_SCOPES          space-separated scopes the resource server accepts
//                      (default "openid tools:* tools:echo tools:add")
//   AS_RESOURCES       comma-separated exact resource indicators allowed; default: any
//                      http(s)://127.0.0.1|localhost[:port][/path] URL
//   AS_DEFAULT_RESOURCE resource used when the token request has none (default: none -> opaque token)
//   AS_STRICT_SCOPES   1 = reject (invalid_scope) requested scopes outside AS_SCOPES instead of
//                      silently dropping them (oidc-provider's native behaviour)
//   AS_REGISTRATION    1 = enable open dynamic client registration (RFC 7591) at /reg
//   AS_CLIENTS_JSON    JSON array replacing the default static clients
//   AS_ADMIN_PORT      if set, admin routes listen on this port; otherwise they are served on
//                      AS_PORT under /admin/...  Routes:
//                        POST /rotate[?alg=RS256|ES256&keep_old=1|0&kid=NAME]
//                             new key becomes the signing key (put first in jwks); keep_old=0
//                             drops the old keys of that alg from the published JWKS
//                        POST /ttl?seconds=N      change access-token lifetime
//                        GET  /state              current kids / alg / ttl
// Stdout: exactly one line "READY <issuer>"; request log (and the "ADMIN <url>" line) go to stderr.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const HOST = process.env.AS_HOST || '127.0.0.1';
const PORT = Number(process.env.AS_PORT ?? 0);
let ttl = Number(process.env.AS_TOKEN_TTL || 300);
let atAlg = process.env.AS_AT_ALG || 'RS256';
const SCOPES = (process.env.AS_SCOPES || 'openid tools:* tools:echo tools:add').split(/\s+/).filter(Boolean);
const RESOURCES = process.env.AS_RESOURCES ? process.env.AS_RESOURCES.split(',').map((s) => s.trim()).filter(Boolean) : null;
const STRICT = process.env.AS_STRICT_SCOPES === '1';
const log = (...a) => process.stderr.write(`[as] ${a.join(' ')}\n`);

const clients = process.env.AS_CLIENTS_JSON ? JSON.parse(process.env.AS_CLIENTS_JSON) : [
  { client_id: 'agent-1', client_secret: 's3cret-agent-1', scope: SCOPES.join(' ') },
  { client_id: 'agent-2', client_secret: 's3cret-agent-2', scope: SCOPES.join(' ') },
].map((c) => ({
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic', // one method per client; the MCP SDK uses basic
  ...c,
}));

function resourceAllowed(r) {
  if (RESOURCES) return RESOURCES.includes(r);
  let u; try { u = new URL(r); } catch { return false; }
  return (u.protocol === 'http:' || u.protocol === 'https:')
    && (u.hostname === '127.0.0.1' || u.hostname === 'localhost') && !u.hash && !u.username;
}

// ---- keys -----------------------------------------------------------------------------------
let keyCounter = 0;
function newKey(alg, kid) {
  const { privateKey } = alg === 'ES256'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  keyCounter += 1;
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: kid || `${alg.toLowerCase()}-${keyCounter}-${crypto.randomBytes(4).toString('hex')}` };
}
// oidc-provider picks the FIRST key in jwks.keys matching the alg (stable sort), so order = priority.
let keys = [newKey('RS256'), newKey('ES256')];

// ---- storage shared across provider rebuilds (rotation rebuilds the Provider) --------------
const store = new Map(); // key -> { payload, exp }
class SharedMemoryAdapter {
  constructor(name) { this.name = name; }
  k(id) { return `${this.name}:${id}`; }
  get(key) { const e = store.get(key); if (!e) return undefined; if (e.exp && e.exp < Date.now()) { store.delete(key); return undefined; } return e.payload; }
  async upsert(id, payload, expiresIn) {
    const exp = expiresIn ? Date.now() + expiresIn * 1000 : 0;
    store.set(this.k(id), { payload, exp });
    if (payload.grantId) { const g = `grant:${payload.grantId}`; const l = this.get(g) || []; l.push(this.k(id)); store.set(g, { payload: l, exp }); }
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, { payload: id, exp });
    if (payload.uid) store.set(`uid:${payload.uid}`, { payload: id, exp });
  }
  async find(id) { return this.get(this.k(id)); }
  async findByUserCode(c) { const id = this.get(`userCode:${c}`); return id && this.find(id); }
  async findByUid(u) { const id = this.get(`uid:${u}`); return id && this.find(id); }
  async consume(id) { const p = this.get(this.k(id)); if (p) p.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.k(id)); }
  async revokeByGrantId(g) { for (const k of this.get(`grant:${g}`) || []) store.delete(k); store.delete(`grant:${g}`); }
}

// ---- provider -------------------------------------------------------------------------------
let issuer; // set once the port is known
function buildProvider() {
  const provider = new Provider(issuer, {
    adapter: SharedMemoryAdapter,
    clients,
    scopes: SCOPES, // "static" scopes: requesting one the client's `scope` doesn't list -> invalid_scope
    jwks: { keys },
    cookies: { keys: ['test-only-cookie-key'] },
    clientDefaults: { token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], id_token_signed_response_alg: 'RS256' },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      registration: { enabled: process.env.AS_REGISTRATION === '1' },
      resourceIndicators: {
        enabled: true,
        // called with the client's request; returning undefined => no resource => opaque token
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? process.env.AS_DEFAULT_RESOURCE ?? undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource) => {
          if (!resourceAllowed(resource)) throw new errors.InvalidTarget(`resource ${resource} is not allowed by this AS`);
          if (STRICT) {
            const bad = String(ctx.oidc.params.scope || '').split(' ').filter((s) => s && !SCOPES.includes(s));
            if (bad.length) throw new errors.InvalidScope('requested scope is not allowed', bad.join(' '));
          }
          return {
            scope: SCOPES.join(' '), // requested scopes are intersected with this (others silently dropped)
            audience: resource, // aud claim = the resource string exactly as sent
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: atAlg } },
          };
        },
      },
    },
    ttl: { ClientCredentials: () => ttl, AccessToken: () => ttl },
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256'] },
  });
  provider.on('grant.success', (ctx) => log('grant.success', ctx.oidc.client?.clientId, JSON.stringify(ctx.oidc.params)));
  provider.on('grant.error', (ctx, err) => log('grant.error', ctx.oidc.client?.clientId ?? '-', err.error, err.error_description ?? ''));
  provider.on('server_error', (_ctx, err) => log('server_error', err.stack));
  return provider;
}

let handler;
function rebuild() { handler = buildProvider().callback(); }

// ---- admin ----------------------------------------------------------------------------------
function state() {
  return { issuer, at_alg: atAlg, ttl, kids: keys.map((k) => ({ kid: k.kid, alg: k.alg })), signing_kid: keys.find((k) => k.alg === atAlg)?.kid };
}
function admin(req, res, path) {
  const u = new URL(req.url, 'http://x');
  const send = (code, body) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
  if (req.method === 'POST' && path === '/rotate') {
    const alg = u.searchParams.get('alg') || atAlg;
    if (!['RS256', 'ES256'].includes(alg)) return send(400, { error: 'alg must be RS256 or ES256' });
    const keepOld = u.searchParams.get('keep_old') !== '0';
    const k = newKey(alg, u.searchParams.get('kid') || undefined);
    keys = [k, ...keys.filter((x) => keepOld || x.alg !== alg)];
    atAlg = alg;
    rebuild();
    log('rotate', JSON.stringify(state()));
    return send(200, state());
  }
  if (req.method === 'POST' && path === '/ttl') {
    const s = Number(u.searchParams.get('seconds'));
    if (!Number.isSafeInteger(s) || s <= 0) return send(400, { error: 'seconds must be a positive integer' });
    ttl = s;
    return send(200, state());
  }
  if (req.method === 'GET' && path === '/state') return send(200, state());
  return send(404, { error: 'not found' });
}

// ---- servers --------------------------------------------------------------------------------
const ADMIN_PORT = process.env.AS_ADMIN_PORT;
const server = http.createServer((req, res) => {
  const { url } = req;
  res.on('finish', () => log(req.method, url, res.statusCode, req.headers.authorization ? `auth=${req.headers.authorization.split(' ')[0]}` : ''));
  if (!ADMIN_PORT && req.url.startsWith('/admin/')) return admin(req, res, new URL(req.url, 'http://x').pathname.slice(6));
  return handler(req, res);
});
server.listen(PORT, HOST, () => {
  issuer = `http://${HOST}:${server.address().port}`;
  rebuild();
  const ready = () => process.stdout.write(`READY ${issuer}\n`);
  if (ADMIN_PORT) {
    const a = http.createServer((req, res) => admin(req, res, new URL(req.url, 'http://x').pathname));
    a.listen(Number(ADMIN_PORT), HOST, () => { log(`ADMIN http://${HOST}:${a.address().port}`); ready(); });
  } else {
    log(`ADMIN ${issuer}/admin`);
    ready();
  }
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
