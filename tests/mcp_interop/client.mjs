// Interop client scenario on the official TypeScript MCP SDKs.
//
//   --sdk v1   @modelcontextprotocol/sdk 1.32.x   (Client from sdk/client/index.js)
//   --sdk v2   @modelcontextprotocol/client 2.3.x (Client from the package root)
//   --negotiation legacy|auto|2026-07-28   (v2 only: ClientOptions.versionNegotiation,
//              mode 'legacy' (the default), 'auto' (probe server/discover, fall back to
//              initialize) or { pin: '2026-07-28' })
//
// The bearer token goes on every request through the transport's documented option:
//   new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization } } })
//
// Prints one JSON line per step, {"step":..., "ok":..., "detail":...}; exits 1 when any
// step failed, 2 on bad arguments. ESM: run it from a folder whose node_modules holds the
// pinned packages (run.sh copies it next to $MCP_INTEROP_CACHE/node/node_modules).
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    sdk: { type: 'string', default: 'v2' },
    url: { type: 'string' },
    token: { type: 'string', default: 'interop-direct' },
    'expect-tools': { type: 'string' },
    'send-email': { type: 'string', default: 'deny' },
    n: { type: 'string', default: '5' },
    'progress-min': { type: 'string', default: '1' },
    negotiation: { type: 'string', default: 'legacy' },
    timeout: { type: 'string', default: '40' },
  },
});

if (!args.url || args['expect-tools'] === undefined || !['v1', 'v2'].includes(args.sdk)
    || !['deny', 'allow', 'skip'].includes(args['send-email'])) {
  console.error('usage: client.mjs --sdk v1|v2 --url URL --token T --expect-tools a,b '
    + '[--send-email deny|allow|skip] [--n 5] [--progress-min 1] [--negotiation legacy|auto|2026-07-28]');
  process.exit(2);
}
if (args.sdk === 'v1' && args.negotiation !== 'legacy') {
  console.error('--negotiation needs --sdk v2');
  process.exit(2);
}

const STEP_TIMEOUT_MS = 10000;
const N = Number(args.n);
const PROGRESS_MIN = Number(args['progress-min']);
let failed = false;

function emit(step, ok, detail, extra = {}) {
  if (!ok) failed = true;
  process.stdout.write(JSON.stringify({ step, ok, detail, ...extra }) + '\n');
}

function describe(e) {
  if (!e) return String(e);
  let s = `${e.name ?? 'Error'}: ${e.message ?? e}`;
  if (e.code !== undefined) s += ` (code ${e.code}${e.data !== undefined ? `, data ${JSON.stringify(e.data)}` : ''})`;
  if (e.cause) s += ` (cause: ${e.cause.message ?? e.cause})`;
  return s.slice(0, 600);
}

const textOf = (r) => (r?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');

// Whole-run deadline: never hang the driver.
const deadline = setTimeout(() => {
  emit('harness', false, `scenario exceeded ${args.timeout}s`);
  process.exit(1);
}, Number(args.timeout) * 1000);
deadline.unref();

let Client;
let StreamableHTTPClientTransport;
let sdkVersion;
if (args.sdk === 'v1') {
  ({ Client } = await import('@modelcontextprotocol/sdk/client/index.js'));
  ({ StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js'));
  sdkVersion = '@modelcontextprotocol/sdk';
} else {
  ({ Client, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client'));
  sdkVersion = '@modelcontextprotocol/client';
}
try {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const fs = await import('node:fs');
  const path = await import('node:path');
  // The package's exports map hides package.json: find it next to the resolved entry.
  let dir = path.dirname(require.resolve(args.sdk === 'v1' ? '@modelcontextprotocol/sdk/client/index.js' : '@modelcontextprotocol/client'));
  for (let i = 0; i < 6 && !fs.existsSync(path.join(dir, 'package.json')); i++) dir = path.dirname(dir);
  for (let i = 0; i < 6; i++) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      const p = JSON.parse(fs.readFileSync(pj, 'utf8'));
      if (p.name === sdkVersion && p.version) { sdkVersion = `${p.name}@${p.version}`; break; }
    }
    dir = path.dirname(dir);
  }
} catch { /* version is informational only */ }

const transport = new StreamableHTTPClientTransport(new URL(args.url), {
  requestInit: { headers: { Authorization: `Bearer ${args.token}` } },
});

const clientOptions = { capabilities: {} };
if (args.sdk === 'v2' && args.negotiation !== 'legacy') {
  clientOptions.versionNegotiation = {
    mode: args.negotiation === 'auto' ? 'auto' : { pin: args.negotiation },
    probe: { timeoutMs: STEP_TIMEOUT_MS },
  };
}
const client = new Client({ name: 'intentgate-interop', version: '1.0.0' }, clientOptions);

// callTool(params, resultSchema?, options?) in 1.x; callTool(params, options?) in 2.x.
const callTool = (params, options) => (args.sdk === 'v1'
  ? client.callTool(params, undefined, options)
  : client.callTool(params, options));

const steps = ['tools_list', 'read_invoice', 'send_email', 'slow_count', 'ping', 'close'];
let version;
try {
  const t0 = Date.now();
  await client.connect(transport, { timeout: STEP_TIMEOUT_MS });
  version = (args.sdk === 'v2' && client.getNegotiatedProtocolVersion?.()) || transport.protocolVersion || 'unknown';
  const server = client.getServerVersion()?.name ?? null;
  emit('connect', true, `protocol ${version}, server ${server}`, {
    sdk: sdkVersion,
    mode: args.negotiation,
    protocol_version: version,
    session_id: transport.sessionId ?? null,
    ms: Date.now() - t0,
  });
} catch (e) {
  emit('connect', false, describe(e), { sdk: sdkVersion, code: e?.code });
  for (const s of steps) emit(s, false, 'not run: connect failed');
  try { await client.close(); } catch { /* ignore */ }
  process.exit(1);
}
const modern = String(version) >= '2026';

// tools/list
try {
  const { tools } = await client.listTools(undefined, { timeout: STEP_TIMEOUT_MS });
  const got = tools.map((t) => t.name).sort();
  const expected = args['expect-tools'].split(',').filter(Boolean).sort();
  emit('tools_list', JSON.stringify(got) === JSON.stringify(expected), { got, expected });
} catch (e) {
  emit('tools_list', false, describe(e), { code: e?.code });
}

// read_invoice
try {
  const r = await callTool({ name: 'read_invoice', arguments: { id: '42' } }, { timeout: STEP_TIMEOUT_MS });
  const text = textOf(r);
  emit('read_invoice', !r.isError && text.startsWith('Invoice 42:'), { is_error: !!r.isError, text: text.slice(0, 200) });
} catch (e) {
  emit('read_invoice', false, describe(e), { code: e?.code });
}

// send_email
if (args['send-email'] === 'skip') {
  emit('send_email', true, 'skipped (--send-email skip)', { skipped: true });
} else {
  try {
    const r = await callTool({ name: 'send_email', arguments: { to: 'a@example.com', body: 'hi' } }, { timeout: STEP_TIMEOUT_MS });
    if (args['send-email'] === 'allow') {
      emit('send_email', !r.isError, { is_error: !!r.isError, text: textOf(r).slice(0, 200) });
    } else {
      emit('send_email', false, { expected: 'JSON-RPC error -32010', got_result: textOf(r).slice(0, 200), is_error: !!r.isError });
    }
  } catch (e) {
    // The reference's reason for a tool outside the token's tool_allow.
    const reasonOk = describe(e).includes('tool \\"send_email\\" not in allowed set') || describe(e).includes('tool "send_email" not in allowed set');
    if (args['send-email'] === 'deny') emit('send_email', e?.code === -32010 && reasonOk, { code: e?.code ?? null, error: describe(e) }, { code: e?.code });
    else emit('send_email', false, describe(e), { code: e?.code });
  }
}

// slow_count with a progress callback
const progress = [];
try {
  const r = await callTool({ name: 'slow_count', arguments: { n: N } }, {
    timeout: STEP_TIMEOUT_MS,
    onprogress: (p) => progress.push(p),
  });
  await new Promise((res) => setTimeout(res, 100));
  const text = textOf(r);
  emit('slow_count', !r.isError && text === `counted to ${N}` && progress.length >= PROGRESS_MIN, {
    text: text.slice(0, 200),
    progress_count: progress.length,
    n: N,
    progress_min: PROGRESS_MIN,
    last: progress.at(-1) ?? null,
  });
} catch (e) {
  emit('slow_count', false, describe(e), { code: e?.code, progress_count: progress.length });
}

// ping (removed in 2026-07-28)
if (modern) {
  emit('ping', true, `skipped: ping is removed in protocol ${version}`, { skipped: true });
} else {
  try {
    await client.ping({ timeout: STEP_TIMEOUT_MS });
    emit('ping', true, 'pong');
  } catch (e) {
    emit('ping', false, describe(e), { code: e?.code });
  }
}

// close: DELETE the session where there is one, then close the transport
try {
  const sid = transport.sessionId;
  if (sid) await transport.terminateSession();
  await client.close();
  emit('close', true, sid ? `terminateSession() sent DELETE for session ${sid.slice(0, 8)}...` : 'closed (no session id: no DELETE)');
} catch (e) {
  emit('close', false, describe(e), { code: e?.code });
}

process.exit(failed ? 1 : 0);
