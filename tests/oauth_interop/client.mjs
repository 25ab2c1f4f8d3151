// MCP client using the official SDK's client_credentials OAuth provider.
// Env: MCP_URL, CLIENT_ID, CLIENT_SECRET (required); TOOL (required), ARGS (JSON, default {});
//      SCOPE (optional; the ONLY scope source for client_credentials in SDK 1.32 - see notes);
//      EXPECTED_ISSUER (optional AS issuer; the SDK refuses to send the secret to any other AS);
//      CLIENT_LOG=0 to silence the HTTP trace on stderr.
// Stdout: one JSON line {"tools":[names...],"result":<CallToolResult>}.
// Exit: 0 ok, 1 error (connect/auth/transport/protocol), 2 tool returned isError.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';

const env = (k, d) => process.env[k] ?? d;
const need = (k) => { const v = process.env[k]; if (!v) { console.error(`missing env ${k}`); process.exit(1); } return v; };
const mcpUrl = new URL(need('MCP_URL'));
const tool = need('TOOL');
const args = JSON.parse(env('ARGS', '{}'));
const trace = env('CLIENT_LOG', '1') !== '0';

// Trace every HTTP request the SDK makes (MCP calls and all OAuth discovery/token calls go through it).
const loggingFetch = async (url, init = {}) => {
  const res = await fetch(url, init);
  if (trace) {
    const h = new Headers(init.headers);
    const body = typeof init.body === 'string' ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : '';
    const note = h.get('authorization') ? ` auth=${h.get('authorization').split(' ')[0]}` : '';
    const rpc = body.startsWith('{') ? ` rpc=${JSON.parse(body).method}` : body ? ` body=${body}` : '';
    process.stderr.write(`[client] ${init.method || 'GET'} ${url} -> ${res.status}${note}${rpc}\n`);
  }
  return res;
};

const authProvider = new ClientCredentialsProvider({
  clientId: need('CLIENT_ID'),
  clientSecret: need('CLIENT_SECRET'),
  scope: process.env.SCOPE || undefined,
  ...(process.env.EXPECTED_ISSUER ? { expectedIssuer: process.env.EXPECTED_ISSUER } : {}),
});
const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider, fetch: loggingFetch });
const client = new Client({ name: 'gateway-test-client', version: '0.0.1' });

let code = 0;
try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  const result = await client.callTool({ name: tool, arguments: args });
  process.stdout.write(`${JSON.stringify({ tools: tools.map((t) => t.name), result })}\n`);
  if (result.isError) code = 2;
} catch (e) {
  console.error(`[client] error: ${e?.constructor?.name}: ${e?.message}`);
  code = 1;
} finally {
  await client.close().catch(() => {});
}
process.exit(code);
