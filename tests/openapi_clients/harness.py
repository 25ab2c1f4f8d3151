#!/usr/bin/env python3
"""Helpers for run.sh (standard library only; no generated code here).

Subcommands:
  free-port                         print a free TCP port on 127.0.0.1
  wait-ready URL SECONDS            poll URL/readyz until it answers 200 (bounded)
  fetch URL OUT                     GET URL into OUT (bounded), fail on non-200
  seed URL OUT_JSON                 seed the gateway: see seed() below
  compare-docs LIVE COMMITTED       semantic JSON compare; prints a unified diff on mismatch
  st-digest CLI_OUTPUT              one line per distinct schemathesis failure
  tsc-annotate TSC_LOG DIR          tsc errors, each followed by the source line it points at

The admin and tenant tokens come from the environment (IG_ADMIN_TOKEN, IG_TENANT_TOKEN),
never from the command line.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

TIMEOUT = 10.0


def free_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def request(method: str, url: str, body=None, token: str | None = None, timeout: float = TIMEOUT):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def wait_ready(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, body = request("GET", f"{url}/readyz", timeout=2)
            if status == 200:
                return
            last = f"HTTP {status}: {body[:200]!r}"
        except OSError as err:
            last = str(err)
        time.sleep(0.1)
    sys.exit(f"gateway at {url} not ready after {seconds}s ({last})")


def fetch(url: str, out: str) -> None:
    status, body = request("GET", url)
    if status != 200:
        sys.exit(f"GET {url}: HTTP {status}: {body[:300]!r}")
    with open(out, "wb") as f:
        f.write(body)


def expect(what: str, status: int, body: bytes, want: int = 200) -> dict:
    if status != want:
        sys.exit(f"seed: {what}: HTTP {status} (want {want}): {body[:300]!r}")
    return json.loads(body) if body.strip() else {}


def tools_call(url: str, token: str, rpc_id: int, tool: str, args: dict, timeout: float = TIMEOUT) -> dict:
    status, body = request(
        "POST",
        f"{url}/v1/mcp",
        {"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call", "params": {"name": tool, "arguments": args}},
        token=token,
        timeout=timeout,
    )
    return expect(f"tools/call {tool}", status, body)


SEED_DRAFT_REGO = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "policy.rego")).read()


def seed(url: str, out: str) -> None:
    """Data every stage finds in the gateway: agent calls (allow, policy block, capability
    block, an escalation rejected by a human), admin events in two tenant chains,
    revocations with and without reason and tenant, and one policy draft. Writes the
    capability token the fuzzer uses for CapabilityToken to OUT_JSON."""
    admin = os.environ["IG_ADMIN_TOKEN"]
    tenant_admin = os.environ["IG_TENANT_TOKEN"]
    minted = expect(
        "mint",
        *request(
            "POST",
            f"{url}/v1/admin/mint",
            {"subject": "seed-agent", "ttl_seconds": 3600, "tools": ["read_invoice", "wire_money", "send_email"]},
            token=admin,
        ),
    )
    token = minted["token"]
    expect("tenant mint", *request("POST", f"{url}/v1/admin/mint", {"subject": "acme-agent"}, token=tenant_admin))
    tools_call(url, token, 1, "read_invoice", {"id": "42"})
    tools_call(url, token, 2, "read_invoice", {"id": "43"})
    tools_call(url, token, 3, "send_email", {"to": "someone@example.com"})  # policy: default deny
    tools_call(url, token, 4, "delete_everything", {})  # capability: not in the token

    # An escalation, rejected by a human: the approvals list then holds a decided row.
    result: dict = {}

    def escalate() -> None:
        try:
            result["answer"] = tools_call(url, token, 5, "wire_money", {"amount_eur": 5}, timeout=60)
        except BaseException as err:  # noqa: BLE001 - reported below
            result["error"] = repr(err)

    worker = threading.Thread(target=escalate, daemon=True)
    worker.start()
    pending_id = None
    deadline = time.monotonic() + 10
    while pending_id is None and time.monotonic() < deadline:
        page = expect("approvals", *request("GET", f"{url}/v1/admin/approvals?status=pending", token=admin))
        rows = [r for r in page.get("approvals", []) if r.get("agent_id") == "seed-agent"]
        pending_id = rows[0]["pending_id"] if rows else None
        if pending_id is None:
            time.sleep(0.1)
    if pending_id is None:
        sys.exit("seed: the escalated call never showed up as a pending approval")
    expect(
        "decide",
        *request(
            "POST",
            f"{url}/v1/admin/approvals/{pending_id}/decide",
            {"decision": "reject", "decided_by": "seed", "note": "not today"},
            token=admin,
        ),
    )
    worker.join(15)
    if worker.is_alive() or "error" in result:
        sys.exit(f"seed: escalated call did not finish cleanly: {result}")

    expect(
        "revoke",
        *request("POST", f"{url}/v1/admin/revoke", {"jti": minted["jti"], "reason": "seed: leaked"}, token=admin),
    )
    expect("revoke", *request("POST", f"{url}/v1/admin/revoke", {"jti": "seed-without-reason"}, token=admin))
    expect(
        "tenant revoke",
        *request("POST", f"{url}/v1/admin/revoke", {"jti": "seed-acme", "reason": "acme"}, token=tenant_admin),
    )
    expect(
        "draft",
        *request(
            "POST",
            f"{url}/v1/admin/policies/drafts",
            {
                "name": "seed-draft",
                "description": "the startup policy",
                "rego_source": SEED_DRAFT_REGO,
                "created_by": "seed",
            },
            token=admin,
        ),
        want=201,
    )
    # The fuzzer's capability token: its own, not revoked, no call limit.
    fuzz = expect(
        "mint",
        *request(
            "POST",
            f"{url}/v1/admin/mint",
            {"subject": "fuzz-agent", "ttl_seconds": 3600, "tools": ["read_invoice", "send_email"]},
            token=admin,
        ),
    )
    with open(out, "w") as f:
        json.dump({"capability_token": fuzz["token"]}, f)


def compare_docs(live: str, committed: str) -> None:
    with open(live) as f:
        a = json.load(f)
    with open(committed) as f:
        b = json.load(f)
    if a == b:
        print("the gateway serves the committed document")
        return
    pa = json.dumps(a, indent=1, sort_keys=True).splitlines()
    pb = json.dumps(b, indent=1, sort_keys=True).splitlines()
    diff = list(difflib.unified_diff(pb, pa, "committed openapi/openapi.json", "GET /openapi.json", lineterm="", n=2))
    print("\n".join(diff[:200]))
    if len(diff) > 200:
        print(f"... {len(diff) - 200} more diff lines")
    sys.exit("the running binary serves a different document than openapi/openapi.json (stale binary or stale file)")


SECTION = re.compile(r"^_{3,} (.+?) _{3,}$")
CASE = re.compile(r"^\d+\. Test Case ID: (\S+)")
CHECK = re.compile(r"^- (ST\d+ .+)$")
STATUS = re.compile(r"^\[(\d{3})\] ")
BOILERPLATE = (
    "Valid data should have been accepted",
    "Invalid data should have been rejected",
    "Validated against the response schema",
    "Expected: ",
)


def st_digest(path: str) -> None:
    """Condenses schemathesis' FAILURES section: operation | check | detail | status | body | curl."""
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    op = None
    in_failures = False
    in_errors = False
    cur: dict | None = None
    rows: list[dict] = []

    def flush() -> None:
        nonlocal cur
        if cur and cur.get("check"):
            rows.append(cur)
        cur = None

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        text = line.strip()
        if text.startswith("=") and " ERRORS " in text:
            in_errors = True
        elif text.startswith("=") and "FAILURES" in text:
            in_errors = False
            in_failures = True
        elif text.startswith("=") and in_failures and "FAILURES" not in text:
            flush()
            break
        elif in_errors:
            m = SECTION.match(text)
            if m:
                op = m.group(1)
                # the error title, then its first message line
                j = i + 1
                msg: list[str] = []
                while j < len(lines) and len(msg) < 2:
                    if lines[j].strip():
                        msg.append(lines[j].strip()[:200])
                    j += 1
                rows.append({"op": op, "check": "ERROR " + " | ".join(msg), "checks": ["ERROR " + " - ".join(msg)]})
        elif in_failures:
            m = SECTION.match(text)
            if m:
                flush()
                op = m.group(1)
            elif CASE.match(text):
                flush()
                cur = {"op": op, "checks": []}
            elif cur is not None and CHECK.match(text):
                cur.setdefault("check", CHECK.match(text).group(1))
                cur["checks"].append(CHECK.match(text).group(1))
                # first informative detail line after the check title
                j = i + 1
                while j < len(lines):
                    t = lines[j].strip()
                    if t.startswith("Hint:"):
                        if "additional propert" in t:
                            t = "body with properties the schema does not declare was rejected (no additionalProperties: false)"
                        cur.setdefault("detail", t[:200])
                        break
                    if t and not t.startswith(BOILERPLATE):
                        if not (t.startswith("[") or t.startswith("- ST")):
                            if t.endswith(":"):  # a list follows, e.g. missing headers
                                k = j + 1
                                while k < len(lines) and lines[k].strip().startswith("- "):
                                    t += " " + lines[k].strip()[2:]
                                    k += 1
                            cur.setdefault("detail", t[:200])
                        break
                    j += 1
            elif cur is not None and STATUS.match(text):
                cur["status"] = text.rstrip(":")
                # the body is the next non-empty line
                j = i + 1
                while j < len(lines) and not lines[j].strip():
                    j += 1
                if j < len(lines):
                    cur["body"] = lines[j].strip()[:200]
            elif cur is not None and text.startswith("curl "):
                cur["curl"] = text
        i += 1
    flush()
    seen = set()
    for r in rows:
        for check in r["checks"]:
            key = (r["op"], check, r.get("detail"))
            if key in seen:
                continue
            seen.add(key)
            print(f"{r['op']} | {check} | {r.get('detail', '')} | {r.get('status', '')} | {r.get('body', '')}")
            if r.get("curl"):
                print(f"    {r['curl']}")
    if not rows:
        print("(no failures listed)")


TSC_ERROR = re.compile(r"^(?P<file>[^(\s]+)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<msg>.*)$")


def tsc_annotate(log: str, root: str) -> None:
    """tsc's errors with the offending source line, so a failed type-level contract line
    (`Type 'false' does not satisfy the constraint 'true'`) says which contract it is."""
    sources: dict[str, list[str]] = {}
    for raw in open(log, encoding="utf-8", errors="replace").read().splitlines():
        m = TSC_ERROR.match(raw)
        if not m:
            print(f"    {raw}")
            continue
        print(raw)
        path = os.path.join(root, m["file"])
        if path not in sources:
            try:
                sources[path] = open(path, encoding="utf-8").read().splitlines()
            except OSError:
                sources[path] = []
        lines = sources[path]
        n = int(m["line"])
        if 0 < n <= len(lines):
            print(f"    > {lines[n - 1].strip()}")


def main(argv: list[str]) -> None:
    cmd, args = argv[1], argv[2:]
    if cmd == "free-port":
        free_port()
    elif cmd == "wait-ready":
        wait_ready(args[0], float(args[1]))
    elif cmd == "fetch":
        fetch(args[0], args[1])
    elif cmd == "seed":
        seed(args[0], args[1])
    elif cmd == "compare-docs":
        compare_docs(args[0], args[1])
    elif cmd == "st-digest":
        st_digest(args[0])
    elif cmd == "tsc-annotate":
        tsc_annotate(args[0], args[1])
    else:
        sys.exit(f"unknown subcommand {cmd}")


if __name__ == "__main__":
    main(sys.argv)
