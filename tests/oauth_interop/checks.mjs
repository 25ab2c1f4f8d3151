// The OAuth scenarios against a running gateway, a real authorization server (oidc-provider)
// and a second, untrusted one. run.sh starts them all and passes:
//   GATEWAY       gateway base URL            RESOURCE     the gateway's resource URI
//   ISSUER        trusted AS issuer            OTHER_ISSUER untrusted AS issuer
//   ADMIN_TOKEN   gateway admin token          CLIENT_JS    path of client.mjs (the SDK flow)
// Prints one line per check ("ok" / "FAIL") and exits 1 if any failed.
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`missing env ${k}`); return v; };
const GATEWAY = env('GATEWAY');
const RESOURCE = env('RESOURCE');
const ISSUER = env('ISSUER');
const OTHER_ISSUER = env('OTHER_ISSUER');
const ADMIN_TOKEN = env('ADMIN_TOKEN');
const CLIENT_JS = env('CLIENT_JS');
const SECRETS = { 'agent-1': 's3cret-agent-1', 'agent-2': 's3cret-agent-2' };
const METADATA = `${GATEWAY}/.well-known/oauth-protected-resource/v1/mcp`;

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok    ${name}`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL  ${name}: ${e.message}`);
  }
}
function expect(cond, what) { if (!cond) throw new Error(what); }

/** A client-credentials token from `issuer` for `resource`. */
async function token({ client = 'agent-1', scope = 'tools:*', resource = RESOURCE, issuer = ISSUER } = {}) {
  const basic = Buffer.from(`${client}:${SECRETS[client]}`).toString('base64');
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope, resource });
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const json = await res.json();
  expect(res.status === 200 && json.access_token, `token request failed: ${res.status} ${JSON.stringify(json)}`);
  return json.access_token;
}

let nextId = 1;
/** tools/call through the gateway; the whole answer. */
async function call(bearer, name, args) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(`${GATEWAY}/v1/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } }),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* an event stream or plain text */ }
  return { status: res.status, challenge: res.headers.get('www-authenticate') || '', json, text };
}

function refusedWith(answer, status, ...parts) {
  expect(answer.status === status, `status ${answer.status}, want ${status}: ${answer.text}`);
  for (const p of parts) expect(answer.challenge.includes(p), `WWW-Authenticate lacks ${p}: ${answer.challenge}`);
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

await check('a client-credentials token for the gateway calls a tool', async () => {
  const a = await call(await token(), 'add', { a: 2, b: 3 });
  expect(a.status === 200 && a.json?.result?.structuredContent?.sum === 5, a.text);
});

await check('no token: 401 naming the protected-resource metadata', async () => {
  refusedWith(await call(null, 'add', { a: 1, b: 1 }), 401, `resource_metadata="${METADATA}"`);
});

await check('the metadata names the resource and the authorization server', async () => {
  const res = await fetch(METADATA);
  const doc = await res.json();
  expect(res.status === 200, `status ${res.status}`);
  expect(doc.resource === RESOURCE, `resource ${doc.resource}`);
  expect(JSON.stringify(doc.authorization_servers) === JSON.stringify([ISSUER]), JSON.stringify(doc));
});

await check('a token for another resource is refused', async () => {
  const other = await token({ resource: 'http://127.0.0.1:9/other/mcp' });
  refusedWith(await call(other, 'add', { a: 1, b: 1 }), 401, 'error="invalid_token"', 'audience');
});

await check('too little scope: 403 insufficient_scope naming the tool scope', async () => {
  const echoOnly = await token({ scope: 'tools:echo' });
  refusedWith(await call(echoOnly, 'add', { a: 1, b: 1 }), 403, 'error="insufficient_scope"', 'scope="tools:add"');
  const echoed = await call(echoOnly, 'echo', { text: 'hi' });
  expect(echoed.status === 200 && echoed.json?.result?.content?.[0]?.text === 'hi', echoed.text);
});

await check('a token from an untrusted issuer is refused', async () => {
  const foreign = await token({ issuer: OTHER_ISSUER });
  refusedWith(await call(foreign, 'add', { a: 1, b: 1 }), 401, 'invalid_token', 'not trusted');
});

await check('a tampered signature is refused', async () => {
  const [h, p, s] = (await token()).split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[0] ^= 0x01;
  refusedWith(await call(`${h}.${p}.${b64url(sig)}`, 'add', { a: 1, b: 1 }), 401, 'signature does not verify');
});

await check('alg confusion (HS256 keyed with the public key) is refused', async () => {
  const real = await token();
  const [h, p] = real.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const jwks = await (await fetch(`${ISSUER}/jwks`)).json();
  const key = jwks.keys.find((k) => k.kid === header.kid);
  const crypto = await import('node:crypto');
  const forgedHeader = b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }));
  const mac = crypto.createHmac('sha256', key.n).update(`${forgedHeader}.${p}`).digest();
  refusedWith(await call(`${forgedHeader}.${p}.${b64url(mac)}`, 'add', { a: 1, b: 1 }), 401, 'HS256 is not accepted');
});

await check("the policy sees the token's claims (agent-2 is refused by Rego)", async () => {
  const a = await call(await token({ client: 'agent-2' }), 'add', { a: 1, b: 1 });
  expect(a.status === 200 && a.json?.error?.code === -32012, a.text);
  expect(a.json.error.data === 'only agent-1 may call tools here', a.text);
});

await check('an expired token is refused', async () => {
  await fetch(`${ISSUER}/admin/ttl?seconds=1`, { method: 'POST' });
  const short = await token();
  await fetch(`${ISSUER}/admin/ttl?seconds=300`, { method: 'POST' });
  await sleep(2500);
  refusedWith(await call(short, 'add', { a: 1, b: 1 }), 401, 'token expired');
});

await check('key rotation is followed; the withdrawn key stops verifying', async () => {
  const before = await token();
  const rotated = await (await fetch(`${ISSUER}/admin/rotate?keep_old=0`, { method: 'POST' })).json();
  const after = await token();
  const kid = JSON.parse(Buffer.from(after.split('.')[0], 'base64url')).kid;
  expect(kid === rotated.signing_kid, `new token signed by ${kid}, AS says ${rotated.signing_kid}`);
  await sleep(1100); // the gateway refetches for an unknown key at most once a second (run.sh)
  const a = await call(after, 'add', { a: 20, b: 22 });
  expect(a.status === 200 && a.json?.result?.structuredContent?.sum === 42, a.text);
  refusedWith(await call(before, 'add', { a: 1, b: 1 }), 401, 'no signing key');
});

await check("the official TypeScript SDK client signs in and calls a tool", async () => {
  const run = spawnSync('node', [CLIENT_JS], {
    env: {
      ...process.env, MCP_URL: `${GATEWAY}/v1/mcp`, CLIENT_ID: 'agent-1', CLIENT_SECRET: SECRETS['agent-1'],
      SCOPE: 'tools:*', EXPECTED_ISSUER: ISSUER, TOOL: 'add', ARGS: '{"a":40,"b":2}', CLIENT_LOG: '1',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  process.stderr.write(run.stderr || '');
  expect(run.status === 0, `client exit ${run.status}: ${run.stderr?.split('\n').slice(-3).join(' ')}`);
  const out = JSON.parse(run.stdout.trim().split('\n').pop());
  expect(out.result?.structuredContent?.sum === 42, run.stdout);
  expect(out.tools.includes('add') && out.tools.includes('echo'), run.stdout);
  expect(run.stderr.includes('-> 401'), 'the client never met the 401 challenge');
});

await check('audit events name the issuer and client; /readyz reports the issuer', async () => {
  const res = await fetch(`${GATEWAY}/v1/admin/audit?limit=500`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const page = await res.json();
  const mine = page.events.filter((e) => e.client_id === 'agent-1' && e.token_issuer === ISSUER);
  expect(mine.some((e) => e.decision === 'allow' && e.tool === 'add'), `no allowed add by agent-1 in ${page.events.length} events`);
  expect(page.events.some((e) => e.check === 'capability' && e.reason.includes('lacks scope')), 'no scope refusal audited');
  const verify = await (await fetch(`${GATEWAY}/v1/admin/audit/verify`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
  expect(verify.ok === true, JSON.stringify(verify));
  const ready = await (await fetch(`${GATEWAY}/readyz`)).json();
  expect(ready.oauth_issuers?.[0]?.status === 'ready' && ready.oauth_issuers[0].issuer === ISSUER, JSON.stringify(ready));
});

console.log(failures === 0 ? 'all OAuth checks passed' : `${failures} OAuth check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
