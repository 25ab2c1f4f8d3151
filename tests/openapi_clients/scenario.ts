// Stage (c): the same calls as scenario.py, typed by openapi-typescript (schema.d.ts,
// generated from the gateway's own /openapi.json next to this file) and sent with
// openapi-fetch. `tsc --strict --noEmit` over this file is the type check: the code is
// written as a user of a correct document writes it (numbers for limit/offset, a boolean
// for count, only the body fields a call needs, literal enum values, error bodies read
// through the declared error types), so where the document is wrong this file does not
// compile. The expectations are the reference behaviour
// (shared/spec/reference-admin-audit.md), not today's document.
//
// Environment: IG_URL, IG_ADMIN_TOKEN, IG_TENANT, IG_TENANT_TOKEN, IG_POLICY_FILE.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const URL_ = env("IG_URL");
const TENANT = process.env.IG_TENANT ?? "acme";
const POLICY_A = readFileSync(env("IG_POLICY_FILE"), "utf8");
const POLICY_B = `${POLICY_A}\ndecision := {"allow": true, "reason": "ledger writes"} if input.tool == "record_in_ledger"\n`;
const DENY_ALL =
  'package intentgate.policy\n\nimport rego.v1\n\ndefault decision := {"allow": false, "reason": "candidate: deny all"}\n';

// Every request is bounded (an escalated call waits for a human, within the gateway's
// approval timeout).
const boundedFetch = (request: Request): Promise<Response> =>
  fetch(request, { signal: AbortSignal.timeout(30_000) });

// Responses typed by their JSON media type: a call that can also answer with an event
// stream (POST /v1/mcp) is read as JSON here, as openapi-fetch parses it.
const client = (token?: string) =>
  createClient<paths, "application/json">({
    baseUrl: URL_,
    fetch: boundedFetch,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });

const admin = client(env("IG_ADMIN_TOKEN"));
const tenantAdmin = client(env("IG_TENANT_TOKEN"));
const anonymous = client();

const started = new Date(Date.now() - 5_000);
const state: {
  token?: string;
  doomedToken?: string;
  doomedJti?: string;
  draftA?: string;
  draftB?: string;
  draftC?: string;
  promoted?: boolean;
  called?: boolean;
} = {};

const results: { name: string; ok: boolean; message: string }[] = [];

async function step(name: string, body: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  try {
    await body();
    results.push({ name, ok: true, message: "" });
    console.log(`ok   ${name} (${((performance.now() - t0) / 1000).toFixed(2)}s)`);
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message.split("\n")[0]}` : String(err);
    results.push({ name, ok: false, message });
    console.log(`FAIL ${name}: ${message}`);
  }
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`not run: needs ${what} from an earlier step`);
  return value;
}

function expectStatus(response: Response, want: number): void {
  assert.equal(response.status, want, `HTTP ${response.status} (want ${want})`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// A tools/call result carries the gateway's verdict in `_intentgate`.
function intentgateDecision(result: unknown): unknown {
  assert.ok(isRecord(result), `result is ${JSON.stringify(result)}`);
  const meta = result["_intentgate"];
  assert.ok(isRecord(meta), "no _intentgate in the result");
  return meta["decision"];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function toolsCall(token: string, id: number, name: string, args: Record<string, unknown>) {
  return client(token).POST("/v1/mcp", {
    body: { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } },
  });
}

async function main(): Promise<number> {
  await step("GET /healthz", async () => {
    const { data, response } = await anonymous.GET("/healthz");
    expectStatus(response, 200);
    assert.equal(data?.status, "ok");
    assert.ok(data?.version);
  });

  await step("GET /readyz", async () => {
    const { data, response } = await anonymous.GET("/readyz");
    expectStatus(response, 200);
    assert.equal(data?.status, "ready");
  });

  await step("GET /.well-known/oauth-protected-resource[/v1/mcp] (OAuth off -> 404)", async () => {
    const root = await anonymous.GET("/.well-known/oauth-protected-resource", { parseAs: "text" });
    expectStatus(root.response, 404);
    const mcp = await anonymous.GET("/.well-known/oauth-protected-resource/v1/mcp", { parseAs: "text" });
    expectStatus(mcp.response, 404);
  });

  await step("POST /v1/admin/mint (agent token)", async () => {
    const { data, response } = await admin.POST("/v1/admin/mint", {
      body: { subject: "ts-agent", ttl_seconds: 900, tools: ["read_invoice", "wire_money"], max_calls: 50 },
    });
    expectStatus(response, 200);
    assert.ok(data);
    assert.equal(data.subject, "ts-agent");
    assert.equal(data.jti.length, 22);
    assert.notEqual(data.expires_at, "");
    state.token = data.token;
  });

  await step("POST /v1/admin/mint (token to revoke, no ttl)", async () => {
    const { data, response } = await admin.POST("/v1/admin/mint", {
      body: { subject: "ts-doomed", tools: ["read_invoice"] },
    });
    expectStatus(response, 200);
    assert.ok(data);
    assert.equal(data.expires_at, "");
    state.doomedToken = data.token;
    state.doomedJti = data.jti;
  });

  await step("POST /v1/admin/mint (tenant admin, foreign tenant -> 403)", async () => {
    const { error, response } = await tenantAdmin.POST("/v1/admin/mint", {
      body: { subject: "x", tenant: "globex" },
    });
    expectStatus(response, 403);
    assert.equal(error?.error, "tenant in body does not match admin token's tenant");
  });

  await step("POST /v1/mcp tools/call (allowed)", async () => {
    const { data, response } = await toolsCall(need(state.token, "token"), 1, "read_invoice", { id: "42" });
    expectStatus(response, 200);
    assert.ok(data);
    assert.equal(data.error, undefined, JSON.stringify(data.error));
    assert.equal(intentgateDecision(data.result), "allow");
    state.called = true;
  });

  await step("POST /v1/mcp tools/call (tool outside the token -> -32010)", async () => {
    const { data, response } = await toolsCall(need(state.token, "token"), 2, "send_email", { to: "x" });
    expectStatus(response, 200);
    assert.equal(data?.error?.code, -32010);
  });

  await step("POST /v1/tool-call (legacy stub)", async () => {
    const { data, response } = await anonymous.POST("/v1/tool-call", {
      body: { tool: "read_invoice", args: { id: "1" } },
    });
    expectStatus(response, 200);
    assert.equal(data?.decision, "allow");
    assert.equal(data?.reason, "stub: pipeline not implemented");
  });

  await step("POST /v1/tool-call (empty tool -> 400 missing_tool)", async () => {
    const { error, response } = await anonymous.POST("/v1/tool-call", { body: { tool: "" } });
    expectStatus(response, 400);
    assert.equal(error?.error, "missing_tool");
    assert.equal(error?.detail, "tool field is required");
  });

  await step("POST /v1/admin/revoke", async () => {
    const jti = need(state.doomedJti, "doomed jti");
    const { data, response } = await admin.POST("/v1/admin/revoke", { body: { jti, reason: "ts: leaked" } });
    expectStatus(response, 200);
    assert.deepEqual(data, { jti, ok: true });
  });

  await step("POST /v1/admin/revoke (no jti -> 400)", async () => {
    const { error, response } = await admin.POST("/v1/admin/revoke", { body: { jti: "" } });
    expectStatus(response, 400);
    assert.equal(error?.error, "jti is required");
  });

  await step("POST /v1/mcp with the revoked token -> -32010", async () => {
    const { data, response } = await toolsCall(need(state.doomedToken, "doomed token"), 3, "read_invoice", { id: "1" });
    expectStatus(response, 200);
    assert.equal(data?.error?.code, -32010);
  });

  await step("GET /v1/admin/revocations", async () => {
    const jti = need(state.doomedJti, "doomed jti");
    const { data, response } = await admin.GET("/v1/admin/revocations", {
      params: { query: { limit: 50, offset: 0 } },
    });
    expectStatus(response, 200);
    assert.ok(data);
    assert.equal(data.limit, 50);
    assert.equal(data.offset, 0);
    const mine = data.revocations.find((r) => r.jti === jti);
    assert.equal(mine?.reason, "ts: leaked");
    assert.equal(mine?.tenant, undefined, "a superadmin revocation has a tenant");
    const bare = data.revocations.find((r) => r.jti === "seed-without-reason");
    assert.ok(bare, "the seeded revocation without reason is missing");
    assert.equal(bare.reason, undefined);
  });

  await step("GET /v1/admin/revocations (tenant admin sees its own rows only)", async () => {
    const { data, response } = await tenantAdmin.GET("/v1/admin/revocations");
    expectStatus(response, 200);
    assert.ok(data);
    assert.equal(data.limit, 100);
    assert.ok(data.revocations.every((r) => r.tenant === TENANT));
    assert.ok(data.revocations.some((r) => r.jti === "seed-acme"));
  });

  await step("GET /v1/admin/audit (filters, paging, count)", async () => {
    need(state.called, "an allowed call");
    const { data, response } = await admin.GET("/v1/admin/audit", {
      params: {
        query: {
          agent_id: "ts-agent",
          decision: "allow",
          tool: "read_invoice",
          from: started.toISOString(),
          to: new Date(Date.now() + 60_000).toISOString(),
          limit: 5,
          offset: 0,
          count: true,
        },
      },
    });
    expectStatus(response, 200);
    assert.ok(data);
    assert.equal(data.limit, 5);
    assert.equal(data.offset, 0);
    assert.ok((data.total ?? 0) >= 1, `total ${data.total}`);
    assert.ok(data.events.length >= 1 && data.events.length <= 5);
    for (const e of data.events) {
      assert.equal(e.agent_id, "ts-agent");
      assert.equal(e.decision, "allow");
      assert.equal(e.tool, "read_invoice");
      assert.equal(e.schema_version, "6");
    }
  });

  await step("GET /v1/admin/audit (limit clamped, no count -> no total)", async () => {
    const { data, response } = await admin.GET("/v1/admin/audit", { params: { query: { limit: 99999 } } });
    expectStatus(response, 200);
    assert.equal(data?.limit, 1000);
    assert.equal(data?.total, undefined);
  });

  await step("GET /v1/admin/audit (tenant admin, foreign tenant -> 403)", async () => {
    const { error, response } = await tenantAdmin.GET("/v1/admin/audit", { params: { query: { tenant: "globex" } } });
    expectStatus(response, 403);
    assert.equal(error?.error, "tenant in query does not match admin token's tenant");
  });

  await step("GET /v1/admin/agents (observed agents, risk signals)", async () => {
    need(state.called, "an allowed call");
    const { data, response } = await admin.GET("/v1/admin/agents", {
      params: { query: { from: started.toISOString() } },
    });
    expectStatus(response, 200);
    assert.ok(data);
    assert.ok(data.events_scanned >= 1, `events_scanned ${data.events_scanned}`);
    const mine = data.agents.find((a) => a.agent_id === "ts-agent");
    assert.ok(mine, "ts-agent is not listed");
    assert.ok(mine.tools.includes("read_invoice"), `tools ${mine.tools}`);
    const signal: "payment" = "payment"; // a member of the documented enumeration
    assert.ok(mine.risk_signals.includes(signal), `risk_signals ${mine.risk_signals}`);
    assert.ok(mine.calls >= 1 && mine.blocked >= 0 && mine.blocked <= mine.calls);
    const seen = data.agents.map((a) => Date.parse(a.last_seen));
    assert.deepEqual(seen, [...seen].sort((a, b) => b - a), "most recently seen first");
  });

  await step("GET /v1/admin/agents (tenant admin, foreign tenant -> 403)", async () => {
    const { error, response } = await tenantAdmin.GET("/v1/admin/agents", { params: { query: { tenant: "globex" } } });
    expectStatus(response, 403);
    assert.equal(error?.error, "tenant in query does not match admin token's tenant");
  });

  await step("GET /v1/admin/audit/verify", async () => {
    const { data, response } = await admin.GET("/v1/admin/audit/verify", { params: { query: { tenant: "default" } } });
    expectStatus(response, 200);
    assert.ok(data);
    assert.equal(data.ok, true);
    assert.equal(data.tenant, "default");
    assert.ok(data.verified >= 5);
    assert.notEqual(data.head_at, undefined);
    assert.notEqual(data.head_id, undefined);
    assert.equal(data.broken_at, undefined);
  });

  await step("GET /v1/admin/audit/export (CSV)", async () => {
    need(state.called, "an allowed call");
    const { data, response } = await admin.GET("/v1/admin/audit/export", {
      params: { query: { format: "csv", agent_id: "ts-agent" } },
      parseAs: "text",
    });
    expectStatus(response, 200);
    assert.ok(response.headers.get("content-type")?.startsWith("text/csv"));
    assert.match(response.headers.get("content-disposition") ?? "", /^attachment;/);
    const lines: string[] = (data ?? "").trimEnd().split("\n");
    const header = (lines[0] ?? "").split(",");
    assert.deepEqual(header.slice(0, 4), ["ts", "event", "schema_version", "decision"]);
    assert.ok(lines.length >= 2, "no data rows");
  });

  await step("GET /v1/admin/audit/export (NDJSON)", async () => {
    const { data, response } = await admin.GET("/v1/admin/audit/export", {
      params: { query: { format: "json", tenant: "default" } },
      parseAs: "text",
    });
    expectStatus(response, 200);
    assert.equal(response.headers.get("content-type"), "application/x-ndjson");
    const events = (data ?? "")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(events.length >= 5);
    assert.ok(events.every((e) => e["tenant"] === "default" && e["hash"] && e["ts"]));
  });

  await step("approvals: escalated call, list, approve, decide again -> 409", async () => {
    const token = need(state.token, "token");
    const escalated = toolsCall(token, 4, "wire_money", { amount_eur: 12 });
    escalated.catch(() => undefined); // awaited below; never an unhandled rejection
    const deadline = Date.now() + 10_000;
    let pendingId: string | undefined;
    while (pendingId === undefined && Date.now() < deadline) {
      const { data, response } = await admin.GET("/v1/admin/approvals", {
        params: { query: { status: "pending", limit: 100 } },
      });
      expectStatus(response, 200);
      const row = data?.approvals.find((r) => r.agent_id === "ts-agent" && r.tool === "wire_money");
      if (row) {
        assert.equal(row.status, "pending");
        assert.equal(row.reason, "wire transfers need a human");
        assert.deepEqual(row.args, { amount_eur: 12 });
        pendingId = row.pending_id;
      } else {
        await sleep(100);
      }
    }
    const id = need(pendingId, "a pending approval (the escalated call never appeared)");
    const first = await admin.POST("/v1/admin/approvals/{id}/decide", {
      params: { path: { id } },
      body: { decision: "approve", decided_by: "ts-scenario", note: "fine" },
    });
    expectStatus(first.response, 200);
    assert.equal(first.data?.status, "approved");
    assert.equal(first.data?.decided_by, "ts-scenario");
    assert.equal(first.data?.decide_note, "fine");
    assert.ok(first.data?.decided_at);
    const again = await admin.POST("/v1/admin/approvals/{id}/decide", {
      params: { path: { id } },
      body: { decision: "reject", decided_by: "someone-else" },
    });
    expectStatus(again.response, 409);
    assert.equal(again.error?.error, "already decided");
    assert.equal(again.error?.current?.status, "approved");
    assert.equal(again.error?.current?.pending_id, id);
    const { data, response } = await escalated;
    expectStatus(response, 200);
    assert.equal(intentgateDecision(data?.result), "allow");
    const listed = await admin.GET("/v1/admin/approvals", { params: { query: { status: "approved" } } });
    assert.ok(listed.data?.approvals.some((r) => r.pending_id === id));
  });

  await step("POST /v1/admin/approvals/{id}/decide (unknown id -> 404)", async () => {
    const { error, response } = await admin.POST("/v1/admin/approvals/{id}/decide", {
      params: { path: { id: "no-such-id" } },
      body: { decision: "approve" },
    });
    expectStatus(response, 404);
    assert.equal(error?.error, "pending id not found");
  });

  await step("GET /v1/admin/tenants", async () => {
    const all = await admin.GET("/v1/admin/tenants");
    expectStatus(all.response, 200);
    assert.deepEqual(all.data?.tenants, [{ id: TENANT, has_admin: true }]);
    const mine = await tenantAdmin.GET("/v1/admin/tenants");
    assert.deepEqual(mine.data?.tenants.map((t) => t.id), [TENANT]);
  });

  await step("GET /v1/admin/integrations", async () => {
    const { data, response } = await admin.GET("/v1/admin/integrations");
    expectStatus(response, 200);
    assert.ok(data);
    assert.deepEqual(
      data.integrations.map((i) => i.name),
      ["splunk", "datadog", "sentinel"],
    );
    for (const i of data.integrations) {
      assert.equal(i.configured, false);
      assert.equal(i.endpoint, undefined);
      assert.equal(i.last_error, undefined);
      assert.equal(i.last_flush_ts, "0001-01-01T00:00:00Z");
    }
  });

  await step("GET /v1/admin/integrations (tenant admin -> 401)", async () => {
    const { response } = await tenantAdmin.GET("/v1/admin/integrations");
    expectStatus(response, 401);
  });

  await step("POST /v1/admin/policies/drafts (A, B, C)", async () => {
    const a = await admin.POST("/v1/admin/policies/drafts", {
      body: { name: "ts-a", description: "startup rules", rego_source: POLICY_A, created_by: "ts" },
    });
    expectStatus(a.response, 201);
    assert.match(a.data?.id ?? "", /^[0-9a-f]{16}$/);
    assert.equal(a.data?.created_by, "ts");
    assert.equal(a.data?.tenant, undefined);
    const b = await admin.POST("/v1/admin/policies/drafts", { body: { name: "ts-b", rego_source: POLICY_B } });
    expectStatus(b.response, 201);
    assert.equal(b.data?.description, undefined);
    const c = await tenantAdmin.POST("/v1/admin/policies/drafts", { body: { name: "ts-c", rego_source: DENY_ALL } });
    expectStatus(c.response, 201);
    assert.equal(c.data?.tenant, TENANT);
    state.draftA = a.data?.id;
    state.draftB = b.data?.id;
    state.draftC = c.data?.id;
  });

  await step("POST /v1/admin/policies/drafts (bad Rego -> 400)", async () => {
    const { error, response } = await admin.POST("/v1/admin/policies/drafts", {
      body: { name: "bad", rego_source: "package x\nthis is not rego" },
    });
    expectStatus(response, 400);
    assert.match(error?.error ?? "", /rego compile error/);
  });

  await step("GET/PUT /v1/admin/policies/drafts/{id}", async () => {
    const id = need(state.draftA, "draft A");
    const got = await admin.GET("/v1/admin/policies/drafts/{id}", { params: { path: { id } } });
    expectStatus(got.response, 200);
    assert.equal(got.data?.rego_source, POLICY_A);
    const put = await admin.PUT("/v1/admin/policies/drafts/{id}", {
      params: { path: { id } },
      body: { name: "ts-a2", description: "renamed", rego_source: POLICY_A },
    });
    expectStatus(put.response, 200);
    assert.equal(put.data?.name, "ts-a2");
    assert.equal(put.data?.created_at, got.data?.created_at);
    const foreign = await tenantAdmin.GET("/v1/admin/policies/drafts/{id}", { params: { path: { id } } });
    expectStatus(foreign.response, 404);
  });

  await step("GET /v1/admin/policies/drafts", async () => {
    const ids = [need(state.draftA, "draft A"), need(state.draftB, "draft B"), need(state.draftC, "draft C")];
    const all = await admin.GET("/v1/admin/policies/drafts", { params: { query: { limit: 100, offset: 0 } } });
    expectStatus(all.response, 200);
    assert.equal(all.data?.limit, 100);
    const listed = new Set(all.data?.drafts.map((d) => d.id));
    assert.ok(ids.every((id) => listed.has(id)));
    const mine = await admin.GET("/v1/admin/policies/drafts", { params: { query: { tenant: TENANT } } });
    assert.deepEqual(mine.data?.drafts.map((d) => d.id), [state.draftC]);
  });

  await step("DELETE /v1/admin/policies/drafts/{id}", async () => {
    const id = need(state.draftC, "draft C");
    const { data, response } = await admin.DELETE("/v1/admin/policies/drafts/{id}", { params: { path: { id } } });
    expectStatus(response, 200);
    assert.deepEqual(data, { id, ok: true });
    const gone = await admin.GET("/v1/admin/policies/drafts/{id}", { params: { path: { id } } });
    expectStatus(gone.response, 404);
  });

  await step("POST /v1/admin/policies/active (promote A, then B)", async () => {
    const a = need(state.draftA, "draft A");
    const b = need(state.draftB, "draft B");
    const first = await admin.POST("/v1/admin/policies/active", { body: { draft_id: a, promoted_by: "ts" } });
    expectStatus(first.response, 200);
    assert.equal(first.data?.active.current_draft_id, a);
    assert.equal(first.data?.swapped, true);
    const second = await admin.POST("/v1/admin/policies/active", { body: { draft_id: b, promoted_by: "ts" } });
    expectStatus(second.response, 200);
    assert.equal(second.data?.active.current_draft_id, b);
    assert.equal(second.data?.active.previous_draft_id, a);
    state.promoted = true;
  });

  await step("GET /v1/admin/policies/active", async () => {
    need(state.promoted, "a promotion");
    const { data, response } = await admin.GET("/v1/admin/policies/active");
    expectStatus(response, 200);
    assert.equal(data?.source, "draft");
    assert.equal(data?.current_draft?.id, state.draftB);
    assert.equal(data?.previous_draft?.id, state.draftA);
    const fallback = await tenantAdmin.GET("/v1/admin/policies/active");
    assert.equal(fallback.data?.source, "fallback");
  });

  await step("DELETE /v1/admin/policies/drafts/{id} (active draft -> 409)", async () => {
    need(state.promoted, "a promotion");
    const { error, response } = await admin.DELETE("/v1/admin/policies/drafts/{id}", {
      params: { path: { id: need(state.draftA, "draft A") } },
    });
    expectStatus(response, 409);
    assert.match(error?.error ?? "", /current or previous active policy/);
  });

  await step("POST /v1/admin/policies/rollback", async () => {
    need(state.promoted, "a promotion");
    const first = await admin.POST("/v1/admin/policies/rollback", { body: { rolled_back_by: "ts" } });
    expectStatus(first.response, 200);
    assert.equal(first.data?.active.current_draft_id, state.draftA);
    assert.equal(first.data?.active.previous_draft_id, undefined);
    assert.equal(first.data?.swapped, true);
    const again = await admin.POST("/v1/admin/policies/rollback", { body: { rolled_back_by: "ts" } });
    expectStatus(again.response, 404);
    assert.equal(again.error?.error, "no previous policy to roll back to");
  });

  await step("DELETE /v1/admin/policies/active (tenant slot)", async () => {
    const { data, response } = await admin.DELETE("/v1/admin/policies/active", {
      params: { query: { tenant: TENANT } },
    });
    expectStatus(response, 200);
    assert.equal(data?.cleared.tenant, TENANT);
    assert.equal(data?.swapped, true);
  });

  await step("POST /v1/admin/policies/dry-run (real sample)", async () => {
    need(state.called, "an allowed call");
    const { data, response } = await admin.POST("/v1/admin/policies/dry-run", {
      body: { rego: DENY_ALL, agent_id: "ts-agent", tool: "read_invoice", max_samples: 5 },
    });
    expectStatus(response, 200);
    assert.ok(data);
    assert.ok(data.summary.events_evaluated >= 1);
    assert.ok(data.summary.allow_to_block >= 1);
    assert.equal(data.summary.would_allow, 0);
    const sample = data.samples.find((s) => s.tool === "read_invoice");
    assert.ok(sample, "no read_invoice sample");
    assert.equal(sample.original_decision, "allow");
    assert.equal(sample.candidate_decision, "block");
    assert.equal(sample.candidate_reason, "candidate: deny all");
    assert.equal(sample.candidate_error, undefined);
    assert.equal(data.warnings, undefined);
    assert.equal(data.window.limit, 10000);
    assert.equal(data.window.from, undefined);
    assert.equal(data.window.to, undefined);
  });

  await step("POST /v1/admin/policies/dry-run (args rule -> warning)", async () => {
    const rego =
      'package intentgate.policy\n\nimport rego.v1\n\ndefault decision := {"allow": false}\n\ndecision := {"allow": true} if input.args.amount_eur < 100\n';
    const { data, response } = await admin.POST("/v1/admin/policies/dry-run", { body: { rego, limit: 50 } });
    expectStatus(response, 200);
    assert.ok(data?.warnings?.some((w) => w.includes("argument values")));
    assert.equal(data?.window.limit, 50);
  });

  await step("POST /v1/admin/policies/dry-run (no rego -> 400)", async () => {
    const { error, response } = await admin.POST("/v1/admin/policies/dry-run", { body: { rego: "" } });
    expectStatus(response, 400);
    assert.match(error?.error ?? "", /rego/);
  });

  await step("POST /v1/mcp after the policy changes (default slot back on A)", async () => {
    need(state.promoted, "a promotion");
    const { data, response } = await toolsCall(need(state.token, "token"), 5, "read_invoice", { id: "7" });
    expectStatus(response, 200);
    assert.equal(intentgateDecision(data?.result), "allow");
  });

  const failed = results.filter((r) => !r.ok);
  console.log("");
  for (const r of failed) console.log(`  failed: ${r.name}: ${r.message}`);
  console.log(`typescript scenario: ${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0 ? 0 : 1;
}

// ---- Type-level contract -----------------------------------------------------------
// What natural code above cannot show by failing to compile: fields the reference omits
// when empty must be optional in the types (else `row.reason.length` type-checks and
// throws at run time), responses must not promise fields that are never sent, and closed
// vocabularies must be literal unions. Every type is reached through `paths` (method and
// path), never through a component name.

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R }
  ? R extends { 200: infer S } ? Json<S> : R extends { 201: infer S } ? Json<S> : never
  : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { "application/json": infer B } };
}
  ? B
  : never;
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;
type Optional<T, K extends keyof T> = {} extends Pick<T, K> ? true : false;
type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];

type Revocation = Ok<"/v1/admin/revocations", "get">["revocations"][number];
type Integration = Ok<"/v1/admin/integrations", "get">["integrations"][number];
type DryRun = Ok<"/v1/admin/policies/dry-run", "post">;
type Sample = DryRun["samples"][number];
type AuditPage = Ok<"/v1/admin/audit", "get">;
type AuditEvent = AuditPage["events"][number];
type Verify = Ok<"/v1/admin/audit/verify", "get">;
type Approval = Ok<"/v1/admin/approvals", "get">["approvals"][number];
type Draft = Ok<"/v1/admin/policies/drafts/{id}", "get">;
type ActivePolicyResponse = Ok<"/v1/admin/policies/active", "get">;

export type TypeContract = [
  // §2.1 revoke answers {"jti","ok"}; §2.11 draft delete answers {"id","ok"}.
  Expect<Equals<RequiredKeys<Ok<"/v1/admin/revoke", "post">>, "jti" | "ok">>,
  Expect<Equals<RequiredKeys<Ok<"/v1/admin/policies/drafts/{id}", "delete">>, "id" | "ok">>,
  // §2.2 reason and tenant omitted when empty.
  Expect<Optional<Revocation, "reason">>,
  Expect<Optional<Revocation, "tenant">>,
  // §2.5 endpoint and last_error omitted when empty.
  Expect<Optional<Integration, "endpoint">>,
  Expect<Optional<Integration, "last_error">>,
  // §2.12 warnings omitted when none; window from/to/tenant omitted when empty; sample
  // fields marked * omitted when empty.
  Expect<Optional<DryRun, "warnings">>,
  Expect<Optional<DryRun["window"], "from">>,
  Expect<Optional<DryRun["window"], "to">>,
  Expect<Optional<DryRun["window"], "tenant">>,
  Expect<Equals<RequiredKeys<Sample>, "ts" | "tool" | "original_decision" | "candidate_decision">>,
  Expect<Equals<Sample["original_decision"], "allow" | "block" | "escalate">>,
  Expect<Equals<Sample["candidate_decision"], "allow" | "block" | "escalate" | "error">>,
  // §2.6 total only with count=true; §3.1 event fields and their omit rules.
  Expect<Optional<AuditPage, "total">>,
  Expect<Equals<RequiredKeys<AuditEvent>, "ts" | "event" | "schema_version" | "decision" | "tool" | "latency_ms">>,
  Expect<Equals<AuditEvent["decision"], "allow" | "block" | "escalate">>,
  // §2.7 head_at/head_id/broken_at absent when not applicable.
  Expect<Equals<RequiredKeys<Verify>, "ok" | "tenant" | "verified" | "skipped">>,
  // §2.9 the approval row and its vocabulary; §2.10 the decision vocabulary.
  Expect<Equals<RequiredKeys<Approval>, "pending_id" | "agent_id" | "tool" | "reason" | "status" | "created_at">>,
  Expect<Equals<Approval["status"], "pending" | "approved" | "rejected" | "timeout">>,
  Expect<Equals<Body<"/v1/admin/approvals/{id}/decide", "post">["decision"], "approve" | "reject">>,
  // §2.11 draft and active-policy omit rules.
  Expect<Equals<RequiredKeys<Draft>, "id" | "name" | "rego_source" | "created_at" | "updated_at">>,
  Expect<Equals<RequiredKeys<ActivePolicyResponse>, "active" | "source">>,
  Expect<Equals<RequiredKeys<ActivePolicyResponse["active"]>, never>>,
  // Request bodies: only what the handler requires is required (§2.1, §2.3, §2.10-2.12).
  Expect<Equals<RequiredKeys<Body<"/v1/admin/mint", "post">>, "subject">>,
  Expect<Equals<RequiredKeys<Body<"/v1/admin/revoke", "post">>, "jti">>,
  Expect<Equals<RequiredKeys<Body<"/v1/admin/approvals/{id}/decide", "post">>, "decision">>,
  Expect<Equals<RequiredKeys<Body<"/v1/admin/policies/drafts", "post">>, "rego_source">>,
  Expect<Equals<RequiredKeys<Body<"/v1/admin/policies/active", "post">>, "draft_id">>,
  Expect<Equals<RequiredKeys<Body<"/v1/admin/policies/rollback", "post">>, never>>,
  Expect<Equals<RequiredKeys<Body<"/v1/admin/policies/dry-run", "post">>, "rego">>,
];

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
