// The tool server behind the gateway in the OAuth harness: the official TypeScript SDK's
// McpServer over Streamable HTTP (stateless, JSON answers), tools `echo` and `add`. It
// checks no token: the gateway in front of it does, and never forwards the client's.
// Env: UP_PORT (default 0). Prints "READY <url>"; logs each request's Authorization
// presence to stderr so the harness can show no bearer token reached it.
import http from 'node:http';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

function server() {
  const s = new McpServer({ name: 'oauth-interop-tools', version: '0.0.1' });
  s.registerTool('echo', { description: 'echo text', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  s.registerTool('add', { description: 'add numbers', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }));
  return s;
}

const httpServer = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString();
  process.stderr.write(`[upstream] ${req.method} ${req.url} authorization=${req.headers.authorization ? 'PRESENT' : 'absent'}\n`);
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  const mcp = server();
  res.on('close', () => { transport.close(); mcp.close(); });
  await mcp.connect(transport);
  await transport.handleRequest(req, res, text ? JSON.parse(text) : undefined);
});
httpServer.listen(Number(process.env.UP_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${httpServer.address().port}/mcp\n`);
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
