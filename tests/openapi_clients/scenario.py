#!/usr/bin/env python3
"""Stage (b): drives every operation of the gateway through a client that
openapi-python-client generated from the gateway's own /openapi.json, with no hand edits.

The expectations are the reference behaviour (shared/spec/reference-admin-audit.md and the
README), not whatever the document says today: where the document is wrong, the generated
client fails here (a KeyError while parsing a 200, an undeclared status, a body the model
cannot hold), and that is the point.

Calls are written as a user of the generated client writes them: typed functions
(`sync_detailed`), request models, ints for limit/offset, a bool for count, datetimes for
from/to, enum members where the client declares an enum. Two lookups keep the scenario
independent of names the generator derives from the document and that are no part of the
HTTP contract: an operation is found by its method and path (not by its operationId), and a
request model by the type of the function's `body` parameter (not by its component name).

Environment: IG_URL, IG_ADMIN_TOKEN, IG_TENANT (name of the tenant admin's tenant),
IG_TENANT_TOKEN, IG_PY_CLIENT_PKG (import name of the generated package, on sys.path).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import importlib
import io
import json
import os
import pkgutil
import re
import sys
import threading
import time
import traceback
import types
import typing
from typing import Any, Callable

PKG = os.environ.get("IG_PY_CLIENT_PKG", "intentgate_client")
URL = os.environ["IG_URL"]
ADMIN = os.environ["IG_ADMIN_TOKEN"]
TENANT = os.environ.get("IG_TENANT", "acme")
TENANT_TOKEN = os.environ["IG_TENANT_TOKEN"]

client_mod = importlib.import_module(f"{PKG}.client")
types_mod = importlib.import_module(f"{PKG}.types")
errors_mod = importlib.import_module(f"{PKG}.errors")
Unset = types_mod.Unset
UNSET = types_mod.UNSET

# --- helpers over the generated package -------------------------------------------------

_OPS: dict[tuple[str, str], types.ModuleType] = {}
_URL_RE = re.compile(r'"method":\s*"(\w+)",\s*"url":\s*f?"([^"]+)"')


def _index_operations() -> None:
    api = importlib.import_module(f"{PKG}.api")
    for info in pkgutil.walk_packages(api.__path__, prefix=f"{PKG}.api."):
        if info.ispkg:
            continue
        mod = importlib.import_module(info.name)
        src = open(mod.__file__, encoding="utf-8").read()
        m = _URL_RE.search(src)
        if m and hasattr(mod, "sync_detailed"):
            _OPS[(m.group(1).upper(), re.sub(r"\{[^}]*\}", "{}", m.group(2)))] = mod


def op(method: str, path: str) -> types.ModuleType:
    """The generated module of `METHOD path` (path parameters in braces)."""
    if not _OPS:
        _index_operations()
    key = (method.upper(), re.sub(r"\{[^}]*\}", "{}", path))
    if key not in _OPS:
        raise AssertionError(f"{method} {path}: the generated client has no such operation (missing from the document)")
    return _OPS[key]


def _hint_classes(hint: Any) -> list[type]:
    args = typing.get_args(hint)
    if args:
        out: list[type] = []
        for a in args:
            out.extend(_hint_classes(a))
        return out
    return [hint] if isinstance(hint, type) else []


def _convert(hint: Any, value: Any) -> Any:
    """A plain str becomes the enum member when the client declares an enum there."""
    if isinstance(value, str):
        for cls in _hint_classes(hint):
            if issubclass(cls, enum.Enum):
                return cls(value)
    if isinstance(value, list):
        # list[X] | Unset -> convert each item against X
        for option in typing.get_args(hint) or (hint,):
            if typing.get_origin(option) is list:
                (item_hint,) = typing.get_args(option)
                return [_convert(item_hint, v) for v in value]
    return value


def body_model(mod: types.ModuleType) -> type:
    hints = typing.get_type_hints(mod.sync_detailed)
    if "body" not in hints:
        raise AssertionError(f"{mod.__name__}: the operation takes no request body in the document")
    classes = [c for c in _hint_classes(hints["body"]) if c is not Unset and hasattr(c, "to_dict")]
    if len(classes) != 1:
        raise AssertionError(f"{mod.__name__}: body type {hints['body']} is not one model")
    return classes[0]


def model(cls: type, **fields: Any) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{k: _convert(hints.get(k), v) for k, v in fields.items()})


def call(mod: types.ModuleType, client: Any, *args: Any, body: dict | None = None, **params: Any):
    """`mod.sync_detailed(...)` with a request model built from `body` and enum-typed
    parameters converted; returns the generated Response."""
    hints = typing.get_type_hints(mod.sync_detailed)
    kwargs = {k: _convert(hints.get(k), v) for k, v in params.items()}
    if body is not None:
        kwargs["body"] = model(body_model(mod), **body)
    return mod.sync_detailed(*args, client=client, **kwargs)


def status(resp: Any, want: int) -> Any:
    got = int(resp.status_code)
    if got != want:
        raise AssertionError(f"HTTP {got} (want {want}): {resp.content[:300]!r}")
    if resp.parsed is None:
        raise AssertionError(f"HTTP {got}: the client parsed nothing (status not in the document?)")
    return resp.parsed


def given(value: Any) -> bool:
    return value is not None and not isinstance(value, Unset)


def val(x: Any) -> Any:
    """An enum member's value, anything else as is (so assertions read the same either way)."""
    return x.value if isinstance(x, enum.Enum) else x


def eq(got: Any, want: Any, what: str) -> None:
    if val(got) != want:
        raise AssertionError(f"{what}: got {val(got)!r}, want {want!r}")


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def rpc_result(parsed: Any) -> dict:
    check(not given(getattr(parsed, "error", UNSET)), f"JSON-RPC error: {getattr(parsed, 'error', None)}")
    result = parsed.result
    if hasattr(result, "to_dict"):
        result = result.to_dict()
    check(isinstance(result, dict), f"result is {type(result).__name__}")
    return result


def rpc_error_code(parsed: Any) -> int:
    err = parsed.error
    check(given(err), f"expected a JSON-RPC error, got result {getattr(parsed, 'result', None)!r}")
    return int(err.code)


# --- the scenario -----------------------------------------------------------------------

Client = client_mod.Client
AuthenticatedClient = client_mod.AuthenticatedClient
admin = AuthenticatedClient(base_url=URL, token=ADMIN, timeout=30.0, raise_on_unexpected_status=True)
tenant_admin = AuthenticatedClient(base_url=URL, token=TENANT_TOKEN, timeout=30.0, raise_on_unexpected_status=True)
anonymous = Client(base_url=URL, timeout=30.0, raise_on_unexpected_status=True)

STARTED = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
POLICY_A = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "policy.rego")).read()
POLICY_B = POLICY_A + '\ndecision := {"allow": true, "reason": "ledger writes"} if input.tool == "record_in_ledger"\n'
DENY_ALL = 'package intentgate.policy\n\nimport rego.v1\n\ndefault decision := {"allow": false, "reason": "candidate: deny all"}\n'

state: dict[str, Any] = {}
results: list[tuple[str, bool, str]] = []


def step(name: str, needs: tuple[str, ...] = ()) -> Callable[[Callable[[], None]], None]:
    def run(fn: Callable[[], None]) -> None:
        missing = [n for n in needs if n not in state]
        if missing:
            results.append((name, False, f"not run: needs {', '.join(missing)} from an earlier step"))
            print(f"FAIL {name}: not run (needs {', '.join(missing)})", flush=True)
            return
        t0 = time.monotonic()
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - every failure is reported, none stops the run
            where = traceback.extract_tb(err.__traceback__)
            gen = [f for f in where if f"/{PKG}/" in f.filename]
            at = (
                f" [in generated {os.path.relpath(gen[-1].filename, os.path.dirname(gen[-1].filename) + '/../..')}:{gen[-1].lineno}]"
                if gen
                else ""
            )
            msg = f"{type(err).__name__}: {err}{at}"
            results.append((name, False, msg))
            print(f"FAIL {name}: {msg}", flush=True)
            return
        results.append((name, True, ""))
        print(f"ok   {name} ({time.monotonic() - t0:.2f}s)", flush=True)

    return run


@step("GET /healthz")
def _():
    parsed = status(call(op("GET", "/healthz"), anonymous), 200)
    eq(parsed.status, "ok", "status")
    check(bool(parsed.version), "version is empty")


@step("GET /readyz")
def _():
    parsed = status(call(op("GET", "/readyz"), anonymous), 200)
    eq(parsed.status, "ready", "status")


@step("GET /.well-known/oauth-protected-resource[/v1/mcp] (OAuth off -> 404)")
def _():
    for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/v1/mcp"):
        resp = call(op("GET", path), anonymous)
        eq(int(resp.status_code), 404, path)


@step("POST /v1/admin/mint (agent token)")
def _():
    parsed = status(
        call(
            op("POST", "/v1/admin/mint"),
            admin,
            body={"subject": "py-agent", "ttl_seconds": 900, "tools": ["read_invoice", "wire_money"], "max_calls": 50},
        ),
        200,
    )
    eq(parsed.subject, "py-agent", "subject")
    check(len(parsed.jti) == 22, f"jti {parsed.jti!r} is not 22 characters")
    check(bool(parsed.expires_at), "expires_at is empty for a token with a ttl")
    state["token"] = parsed.token
    state["jti"] = parsed.jti


@step("POST /v1/admin/mint (token to revoke, no ttl)")
def _():
    parsed = status(
        call(op("POST", "/v1/admin/mint"), admin, body={"subject": "py-doomed", "tools": ["read_invoice"]}), 200
    )
    eq(parsed.expires_at, "", "expires_at without ttl")
    state["doomed_token"] = parsed.token
    state["doomed_jti"] = parsed.jti


@step("POST /v1/admin/mint (tenant admin, foreign tenant -> 403)")
def _():
    parsed = status(call(op("POST", "/v1/admin/mint"), tenant_admin, body={"subject": "x", "tenant": "globex"}), 403)
    eq(parsed.error, "tenant in body does not match admin token's tenant", "error")


def agent() -> Any:
    return AuthenticatedClient(base_url=URL, token=state["token"], timeout=30.0, raise_on_unexpected_status=True)


def tools_call(client: Any, rpc_id: int, tool: str, arguments: dict) -> Any:
    return call(
        op("POST", "/v1/mcp"),
        client,
        body={"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call", "params": {"name": tool, "arguments": arguments}},
    )


@step("POST /v1/mcp tools/call (allowed)", needs=("token",))
def _():
    result = rpc_result(status(tools_call(agent(), 1, "read_invoice", {"id": "42"}), 200))
    eq(result["_intentgate"]["decision"], "allow", "_intentgate.decision")
    state["called"] = True


@step("POST /v1/mcp tools/call (tool outside the token -> -32010)", needs=("token",))
def _():
    eq(rpc_error_code(status(tools_call(agent(), 2, "send_email", {"to": "x"}), 200)), -32010, "error.code")


@step("POST /v1/tool-call (legacy stub)")
def _():
    parsed = status(
        call(op("POST", "/v1/tool-call"), anonymous, body={"tool": "read_invoice", "args": {"id": "1"}}), 200
    )
    eq(parsed.decision, "allow", "decision")
    eq(parsed.reason, "stub: pipeline not implemented", "reason")


@step("POST /v1/tool-call (empty tool -> 400 missing_tool)")
def _():
    parsed = status(call(op("POST", "/v1/tool-call"), anonymous, body={"tool": ""}), 400)
    eq(parsed.error, "missing_tool", "error")
    eq(parsed.detail, "tool field is required", "detail")


@step("POST /v1/admin/revoke", needs=("doomed_jti",))
def _():
    parsed = status(
        call(op("POST", "/v1/admin/revoke"), admin, body={"jti": state["doomed_jti"], "reason": "py: leaked"}), 200
    )
    eq(parsed.jti, state["doomed_jti"], "jti")
    eq(parsed.ok, True, "ok")


@step("POST /v1/admin/revoke (no jti -> 400)")
def _():
    parsed = status(call(op("POST", "/v1/admin/revoke"), admin, body={"jti": ""}), 400)
    eq(parsed.error, "jti is required", "error")


@step("POST /v1/mcp with the revoked token -> -32010", needs=("doomed_token",))
def _():
    doomed = AuthenticatedClient(
        base_url=URL, token=state["doomed_token"], timeout=30.0, raise_on_unexpected_status=True
    )
    eq(rpc_error_code(status(tools_call(doomed, 3, "read_invoice", {"id": "1"}), 200)), -32010, "error.code")


@step("GET /v1/admin/revocations", needs=("doomed_jti",))
def _():
    parsed = status(call(op("GET", "/v1/admin/revocations"), admin, limit=50, offset=0), 200)
    eq(parsed.limit, 50, "limit")
    eq(parsed.offset, 0, "offset")
    rows = {r.jti: r for r in parsed.revocations}
    check(state["doomed_jti"] in rows, "the revoked jti is not listed")
    eq(rows[state["doomed_jti"]].reason, "py: leaked", "reason")
    check("seed-without-reason" in rows, "the seeded revocation without reason is not listed")
    check(not rows["seed-without-reason"].reason, "a revocation without reason has one")
    check(not rows[state["doomed_jti"]].tenant, "a superadmin revocation has a tenant")
    stamps = [r.revoked_at for r in parsed.revocations]
    check(stamps == sorted(stamps, reverse=True), "revocations are not newest first")


@step("GET /v1/admin/revocations (tenant admin sees its own rows only)")
def _():
    parsed = status(call(op("GET", "/v1/admin/revocations"), tenant_admin), 200)
    eq(parsed.limit, 100, "default limit")
    check(all(val(r.tenant) == TENANT for r in parsed.revocations), "a row of another tenant")
    check(any(r.jti == "seed-acme" for r in parsed.revocations), "the tenant's seeded revocation is missing")


@step("GET /v1/admin/audit (filters, paging, count)", needs=("called",))
def _():
    parsed = status(
        call(
            op("GET", "/v1/admin/audit"),
            admin,
            agent_id="py-agent",
            decision="allow",
            tool="read_invoice",
            from_=STARTED,
            to=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1),
            limit=5,
            offset=0,
            count=True,
        ),
        200,
    )
    eq(parsed.limit, 5, "limit")
    eq(parsed.offset, 0, "offset")
    check(given(parsed.total) and parsed.total >= 1, f"total {parsed.total!r}")
    check(1 <= len(parsed.events) <= 5, f"{len(parsed.events)} events")
    for e in parsed.events:
        eq(e.agent_id, "py-agent", "event agent_id")
        eq(e.decision, "allow", "event decision")
        eq(e.tool, "read_invoice", "event tool")
        eq(e.schema_version, "6", "schema_version")


@step("GET /v1/admin/audit (limit clamped, no count -> no total)")
def _():
    parsed = status(call(op("GET", "/v1/admin/audit"), admin, limit=99999), 200)
    eq(parsed.limit, 1000, "clamped limit")
    check(not given(parsed.total), "total present without count=true")
    check(len(parsed.events) >= 5, "the seeded events are missing")


@step("GET /v1/admin/audit (tenant admin, foreign tenant -> 403)")
def _():
    parsed = status(call(op("GET", "/v1/admin/audit"), tenant_admin, tenant="globex"), 403)
    eq(parsed.error, "tenant in query does not match admin token's tenant", "error")


@step("GET /v1/admin/agents (observed agents, risk signals)", needs=("called",))
def _():
    parsed = status(call(op("GET", "/v1/admin/agents"), admin, from_=STARTED), 200)
    check(parsed.events_scanned >= 1, f"events_scanned {parsed.events_scanned}")
    mine = next((a for a in parsed.agents if a.agent_id == "py-agent"), None)
    check(mine is not None, "py-agent is not listed")
    check("read_invoice" in mine.tools, f"tools {mine.tools!r}")
    check("payment" in [val(s) for s in mine.risk_signals], f"risk_signals {mine.risk_signals!r}")
    check(mine.calls >= 1 and 0 <= mine.blocked <= mine.calls, f"calls {mine.calls}, blocked {mine.blocked}")
    check(isinstance(mine.last_seen, dt.datetime), f"last_seen parsed as {type(mine.last_seen).__name__}")
    seen = [a.last_seen for a in parsed.agents]
    check(seen == sorted(seen, reverse=True), "agents not most recently seen first")


@step("GET /v1/admin/agents (tenant admin, foreign tenant -> 403)")
def _():
    parsed = status(call(op("GET", "/v1/admin/agents"), tenant_admin, tenant="globex"), 403)
    eq(parsed.error, "tenant in query does not match admin token's tenant", "error")


@step("GET /v1/admin/audit/verify")
def _():
    parsed = status(call(op("GET", "/v1/admin/audit/verify"), admin, tenant="default"), 200)
    eq(parsed.ok, True, "ok")
    eq(parsed.tenant, "default", "tenant")
    check(parsed.verified >= 5, f"verified {parsed.verified}")
    check(given(parsed.head_at) and given(parsed.head_id), "head_at/head_id missing on a non-empty chain")
    check(not given(parsed.broken_at), "broken_at on an intact chain")


@step("GET /v1/admin/audit/export (CSV)", needs=("called",))
def _():
    resp = call(op("GET", "/v1/admin/audit/export"), admin, format_="csv", agent_id="py-agent")
    parsed = status(resp, 200)
    check(isinstance(parsed, str), f"CSV parsed as {type(parsed).__name__}")
    check(resp.headers["content-type"].startswith("text/csv"), f"content-type {resp.headers['content-type']}")
    check("attachment;" in resp.headers.get("content-disposition", ""), "no attachment content-disposition")
    rows = list(csv.reader(io.StringIO(parsed)))
    eq(rows[0][:4], ["ts", "event", "schema_version", "decision"], "CSV header")
    check(len(rows) >= 2, "no data rows")
    col = rows[0].index("agent_id")
    check(all(r[col] == "py-agent" for r in rows[1:]), "a row of another agent")


@step("GET /v1/admin/audit/export (NDJSON)")
def _():
    resp = call(op("GET", "/v1/admin/audit/export"), admin, format_="json", tenant="default")
    parsed = status(resp, 200)
    check(isinstance(parsed, str), f"NDJSON parsed as {type(parsed).__name__}")
    eq(resp.headers["content-type"], "application/x-ndjson", "content-type")
    lines = [json.loads(line) for line in parsed.splitlines() if line]
    check(len(lines) >= 5, f"{len(lines)} lines")
    check(all(e["tenant"] == "default" and e["hash"] and e["ts"] for e in lines), "a line without tenant/hash/ts")


@step("approvals: escalated call, list, approve, decide again -> 409", needs=("token",))
def _():
    answer: dict[str, Any] = {}

    def escalate() -> None:
        try:
            answer["resp"] = tools_call(agent(), 4, "wire_money", {"amount_eur": 12})
        except BaseException as err:  # noqa: BLE001 - reported below
            answer["error"] = err

    worker = threading.Thread(target=escalate, daemon=True)
    worker.start()
    row = None
    deadline = time.monotonic() + 10
    while row is None and time.monotonic() < deadline:
        page = status(call(op("GET", "/v1/admin/approvals"), admin, status="pending", limit=100), 200)
        row = next((r for r in page.approvals if r.agent_id == "py-agent" and r.tool == "wire_money"), None)
        if row is None:
            time.sleep(0.1)
    check(row is not None, "the escalated call never appeared as a pending approval")
    eq(row.status, "pending", "status")
    eq(row.reason, "wire transfers need a human", "reason")
    args = row.args.to_dict() if hasattr(row.args, "to_dict") else row.args
    eq(args, {"amount_eur": 12}, "args")
    decide = op("POST", "/v1/admin/approvals/{id}/decide")
    done = status(
        call(decide, admin, row.pending_id, body={"decision": "approve", "decided_by": "py-scenario", "note": "fine"}),
        200,
    )
    eq(done.status, "approved", "status after approve")
    eq(done.decided_by, "py-scenario", "decided_by")
    eq(done.decide_note, "fine", "decide_note")
    check(given(done.decided_at), "decided_at missing")
    again = status(call(decide, admin, row.pending_id, body={"decision": "reject", "decided_by": "someone-else"}), 409)
    eq(again.error, "already decided", "409 error")
    check(given(again.current), "409 without current")
    eq(again.current.status, "approved", "current.status")
    eq(again.current.pending_id, row.pending_id, "current.pending_id")
    worker.join(25)
    check(not worker.is_alive(), "the escalated call did not return after the approval")
    if "error" in answer:
        raise answer["error"]
    result = rpc_result(status(answer["resp"], 200))
    eq(result["_intentgate"]["decision"], "allow", "escalated call's decision")
    listed = status(call(op("GET", "/v1/admin/approvals"), admin, status="approved"), 200)
    check(any(r.pending_id == row.pending_id for r in listed.approvals), "the approved row is not listed as approved")


@step("POST /v1/admin/approvals/{id}/decide (unknown id -> 404)")
def _():
    decide = op("POST", "/v1/admin/approvals/{id}/decide")
    eq(
        status(call(decide, admin, "no-such-id", body={"decision": "approve"}), 404).error,
        "pending id not found",
        "404 error",
    )


@step("GET /v1/admin/tenants")
def _():
    parsed = status(call(op("GET", "/v1/admin/tenants"), admin), 200)
    eq([(t.id, t.has_admin) for t in parsed.tenants], [(TENANT, True)], "tenants")
    mine = status(call(op("GET", "/v1/admin/tenants"), tenant_admin), 200)
    eq([t.id for t in mine.tenants], [TENANT], "tenant admin's tenants")


@step("GET /v1/admin/integrations")
def _():
    parsed = status(call(op("GET", "/v1/admin/integrations"), admin), 200)
    eq([i.name for i in parsed.integrations], ["splunk", "datadog", "sentinel"], "names")
    for i in parsed.integrations:
        eq(i.configured, False, f"{i.name}.configured")
        check(not given(i.endpoint), f"{i.name}: endpoint on an unconfigured sink")
        check(not given(i.last_error), f"{i.name}: last_error without a flush")
        eq(i.last_flush_ts, "0001-01-01T00:00:00Z", f"{i.name}.last_flush_ts")


@step("GET /v1/admin/integrations (tenant admin -> 401)")
def _():
    status(call(op("GET", "/v1/admin/integrations"), tenant_admin), 401)


@step("POST /v1/admin/policies/drafts (A, B, C)")
def _():
    create = op("POST", "/v1/admin/policies/drafts")
    a = status(
        call(
            create,
            admin,
            body={"name": "py-a", "description": "startup rules", "rego_source": POLICY_A, "created_by": "py"},
        ),
        201,
    )
    check(re.fullmatch(r"[0-9a-f]{16}", a.id) is not None, f"draft id {a.id!r}")
    eq(a.name, "py-a", "name")
    eq(a.created_by, "py", "created_by")
    check(not given(a.tenant), "tenant on a superadmin draft without tenant")
    b = status(call(create, admin, body={"name": "py-b", "rego_source": POLICY_B}), 201)
    check(not given(b.description) and not given(b.created_by), "empty description/created_by are not omitted")
    c = status(call(create, tenant_admin, body={"name": "py-c", "rego_source": DENY_ALL}), 201)
    eq(c.tenant, TENANT, "tenant of a tenant admin's draft")
    state["draft_a"], state["draft_b"], state["draft_c"] = a.id, b.id, c.id


@step("POST /v1/admin/policies/drafts (bad Rego -> 400)")
def _():
    parsed = status(
        call(
            op("POST", "/v1/admin/policies/drafts"),
            admin,
            body={"name": "bad", "rego_source": "package x\nthis is not rego"},
        ),
        400,
    )
    check("rego compile error" in parsed.error, f"error {parsed.error!r}")


@step("GET/PUT /v1/admin/policies/drafts/{id}", needs=("draft_a",))
def _():
    got = status(call(op("GET", "/v1/admin/policies/drafts/{id}"), admin, state["draft_a"]), 200)
    eq(got.rego_source, POLICY_A, "rego_source")
    put = status(
        call(
            op("PUT", "/v1/admin/policies/drafts/{id}"),
            admin,
            state["draft_a"],
            body={"name": "py-a2", "description": "renamed", "rego_source": POLICY_A},
        ),
        200,
    )
    eq(put.name, "py-a2", "name after update")
    eq(put.created_at, got.created_at, "created_at after update")
    check(put.updated_at >= got.updated_at, "updated_at went back")
    status(call(op("GET", "/v1/admin/policies/drafts/{id}"), tenant_admin, state["draft_a"]), 404)


@step("GET /v1/admin/policies/drafts", needs=("draft_c",))
def _():
    page = status(call(op("GET", "/v1/admin/policies/drafts"), admin, limit=100, offset=0), 200)
    ids = [d.id for d in page.drafts]
    check({state["draft_a"], state["draft_b"], state["draft_c"]} <= set(ids), "created drafts missing")
    eq(page.limit, 100, "limit")
    mine = status(call(op("GET", "/v1/admin/policies/drafts"), admin, tenant=TENANT), 200)
    eq([d.id for d in mine.drafts], [state["draft_c"]], f"drafts of tenant {TENANT}")


@step("DELETE /v1/admin/policies/drafts/{id}", needs=("draft_c",))
def _():
    parsed = status(call(op("DELETE", "/v1/admin/policies/drafts/{id}"), admin, state["draft_c"]), 200)
    eq(parsed.id, state["draft_c"], "id")
    eq(parsed.ok, True, "ok")
    status(call(op("GET", "/v1/admin/policies/drafts/{id}"), admin, state["draft_c"]), 404)


@step("POST /v1/admin/policies/active (promote A, then B)", needs=("draft_a", "draft_b"))
def _():
    promote = op("POST", "/v1/admin/policies/active")
    first = status(call(promote, admin, body={"draft_id": state["draft_a"], "promoted_by": "py"}), 200)
    eq(first.active.current_draft_id, state["draft_a"], "current after first promote")
    eq(first.swapped, True, "swapped")
    check(bool(first.promoted_at), "promoted_at")
    second = status(call(promote, admin, body={"draft_id": state["draft_b"], "promoted_by": "py"}), 200)
    eq(second.active.current_draft_id, state["draft_b"], "current after second promote")
    eq(second.active.previous_draft_id, state["draft_a"], "previous after second promote")
    eq(second.active.promoted_by, "py", "promoted_by")
    state["promoted"] = True


@step("GET /v1/admin/policies/active", needs=("promoted",))
def _():
    parsed = status(call(op("GET", "/v1/admin/policies/active"), admin), 200)
    eq(parsed.source, "draft", "source")
    eq(parsed.current_draft.id, state["draft_b"], "current_draft.id")
    eq(parsed.previous_draft.id, state["draft_a"], "previous_draft.id")
    fallback = status(call(op("GET", "/v1/admin/policies/active"), tenant_admin), 200)
    eq(fallback.source, "fallback", "tenant admin's source")


@step("DELETE /v1/admin/policies/drafts/{id} (active draft -> 409)", needs=("promoted",))
def _():
    parsed = status(call(op("DELETE", "/v1/admin/policies/drafts/{id}"), admin, state["draft_a"]), 409)
    check("current or previous active policy" in parsed.error, f"error {parsed.error!r}")


@step("POST /v1/admin/policies/rollback", needs=("promoted",))
def _():
    rollback = op("POST", "/v1/admin/policies/rollback")
    parsed = status(call(rollback, admin, body={"rolled_back_by": "py"}), 200)
    eq(parsed.active.current_draft_id, state["draft_a"], "current after rollback")
    check(not parsed.active.previous_draft_id, "previous after rollback")
    eq(parsed.swapped, True, "swapped")
    again = status(call(rollback, admin, body={"rolled_back_by": "py"}), 404)
    eq(again.error, "no previous policy to roll back to", "second rollback")


@step("DELETE /v1/admin/policies/active (tenant slot)")
def _():
    parsed = status(call(op("DELETE", "/v1/admin/policies/active"), admin, tenant=TENANT), 200)
    eq(parsed.cleared.tenant, TENANT, "cleared.tenant")
    eq(parsed.swapped, True, "swapped")


@step("POST /v1/admin/policies/dry-run (real sample)", needs=("called",))
def _():
    parsed = status(
        call(
            op("POST", "/v1/admin/policies/dry-run"),
            admin,
            body={"rego": DENY_ALL, "agent_id": "py-agent", "tool": "read_invoice", "max_samples": 5},
        ),
        200,
    )
    s = parsed.summary
    check(s.events_evaluated >= 1, f"events_evaluated {s.events_evaluated}")
    check(s.allow_to_block >= 1, f"allow_to_block {s.allow_to_block}")
    eq(s.would_allow, 0, "would_allow")
    check(1 <= len(parsed.samples) <= 5, f"{len(parsed.samples)} samples")
    sample = next((x for x in parsed.samples if x.tool == "read_invoice"), None)
    check(sample is not None, "no read_invoice sample")
    eq(sample.original_decision, "allow", "sample.original_decision")
    eq(sample.candidate_decision, "block", "sample.candidate_decision")
    eq(sample.candidate_reason, "candidate: deny all", "sample.candidate_reason")
    eq(sample.agent_id, "py-agent", "sample.agent_id")
    check(not given(sample.candidate_error), "candidate_error on a clean evaluation")
    check(not given(parsed.warnings), f"warnings {parsed.warnings!r} for a tool-only rule over events")
    eq(parsed.window.limit, 10000, "window.limit")
    check(not given(parsed.window.from_) and not given(parsed.window.to), "window from/to echoed though not sent")


@step("POST /v1/admin/policies/dry-run (args rule -> warning)")
def _():
    rego = 'package intentgate.policy\n\nimport rego.v1\n\ndefault decision := {"allow": false}\n\ndecision := {"allow": true} if input.args.amount_eur < 100\n'
    parsed = status(call(op("POST", "/v1/admin/policies/dry-run"), admin, body={"rego": rego, "limit": 50}), 200)
    check(
        given(parsed.warnings) and any("argument values" in w for w in parsed.warnings), f"warnings {parsed.warnings!r}"
    )
    eq(parsed.window.limit, 50, "window.limit")


@step("POST /v1/admin/policies/dry-run (no rego -> 400)")
def _():
    parsed = status(call(op("POST", "/v1/admin/policies/dry-run"), admin, body={"rego": ""}), 400)
    check("rego" in parsed.error, f"error {parsed.error!r}")


@step("POST /v1/mcp after the policy changes (default slot back on A)", needs=("token", "promoted"))
def _():
    result = rpc_result(status(tools_call(agent(), 5, "read_invoice", {"id": "7"}), 200))
    eq(result["_intentgate"]["decision"], "allow", "_intentgate.decision")


def main() -> int:
    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    print()
    for name, ok, msg in results:
        if not ok:
            print(f"  failed: {name}: {msg}")
    print(f"python scenario: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
