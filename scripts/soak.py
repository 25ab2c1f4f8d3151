#!/usr/bin/env python3
"""Soak: mixed traffic at a steady rate against a gateway on Postgres, then checks.

The gateway (with a capability token required, sync audit, approvals on, a Rego policy
that allows `read_*` and escalates `transfer_funds`) runs in front of the demo tool
server, on a database created for the run. For SECONDS it receives, at RATE calls per
second in all:
  - allowed calls (`read_invoice`),
  - denied calls (a tool the token does not list),
  - escalated calls (`transfer_funds`) that an approver thread approves or rejects,
  - tokens minted, used, revoked and used again (refused as revoked),
  - audit exports (NDJSON) every few seconds.
Every answer must be the expected one and the rate must hold (80% of it at least).
Afterwards the tenant's chain must verify, and the gateway's resident memory must have
stayed flat (the last fifth of the run within 25% or 24 MiB of the second fifth).
Prints a report; exits 1 on any failure. Choose RATE as half the saturation rate that
scripts/bench-real.sh measures for Postgres on the machine.

  scripts/soak.py --seconds 600 --rate 600     # the issue's 10-minute run
  scripts/soak.py --seconds 30 --rate 150      # what .ci/run does

Needs INTENTGATE_TEST_POSTGRES_URL (a server where a scratch database may be created),
and the binaries `intentgate` and `demo_tools` (--bin-dir, default target/debug).
Python standard library only.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ADMIN = "soak-admin"
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
TENANT = "soak"
POLICY = """package intentgate.policy
import rego.v1
default decision := {"allow": false, "reason": "soak: not listed"}
decision := {"allow": true, "reason": "soak: read"} if startswith(input.tool, "read_")
decision := {"allow": false, "escalate": true, "reason": "soak: needs a human"} if input.tool == "transfer_funds"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive connection; JSON in, (status, parsed JSON or text) out."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body)
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                text = resp.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    def call(self, token: str, tool: str, args: dict):
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}}
        return self.request("POST", "/v1/mcp", body, token)[1]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.failures: list[str] = []

    def ok(self, kind: str):
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1

    def bad(self, kind: str, what):
        with self.lock:
            self.counts[kind + " UNEXPECTED"] = self.counts.get(kind + " UNEXPECTED", 0) + 1
            if len(self.failures) < 20:
                self.failures.append(f"{kind}: {str(what)[:300]}")


def mint(client: Client, subject: str, tools: list[str]) -> tuple[str, str]:
    status, body = client.request(
        "POST", "/v1/admin/mint", {"subject": subject, "tenant": TENANT, "ttl_seconds": 7200, "tools": tools}, ADMIN
    )
    if status != 200:
        raise RuntimeError(f"mint: {status} {body}")
    return body["token"], body["jti"]


def error_code(answer) -> int | None:
    return answer.get("error", {}).get("code") if isinstance(answer, dict) else None


def paced(rate, stop, step):
    """Calls step(n) about `rate` times a second until stopped; never bursts to catch up."""
    interval = 1 / rate
    due = time.monotonic()
    n = 0
    while not stop.is_set():
        n += 1
        step(n)
        due += interval
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        elif pause < -1:
            due = time.monotonic()


def traffic(port, token, rate, stop, tally, slot):
    """Allowed and denied calls, 8:1."""
    client = Client(port)

    def step(n):
        if (n + slot) % 9 == 0:
            answer = client.call(token, "delete_everything", {})
            if error_code(answer) == -32010:
                tally.ok("denied")
            else:
                tally.bad("denied", answer)
            return
        answer = client.call(token, "read_invoice", {"id": f"inv-{slot}-{n}"})
        if isinstance(answer, dict) and answer.get("result", {}).get("isError") is False:
            tally.ok("allowed")
        else:
            tally.bad("allowed", answer)

    paced(rate, stop, step)


def escalations(port, token, rate, stop, tally):
    """Escalated calls; each waits for the approver's decision (approve or reject)."""
    client = Client(port)

    def step(n):
        answer = client.call(token, "transfer_funds", {"amount_eur": 10 + n % 7})
        rejected = error_code(answer) == -32012 and "rejected" in str(answer["error"].get("message"))
        if isinstance(answer, dict) and ("result" in answer or rejected):
            tally.ok("escalated, decided")
        else:
            tally.bad("escalated", answer)

    paced(rate, stop, step)


def approver(port, stop, tally):
    client = Client(port)
    n = 0
    while not stop.is_set():
        status, page = client.request("GET", "/v1/admin/approvals?status=pending&limit=100", token=ADMIN)
        if status != 200:
            tally.bad("approvals list", page)
        for row in page.get("approvals", []) if isinstance(page, dict) else []:
            n += 1
            decision = "approve" if n % 2 else "reject"
            path = f"/v1/admin/approvals/{urllib.parse.quote(row['pending_id'])}/decide"
            status, body = client.request("POST", path, {"decision": decision, "decided_by": "soak"}, ADMIN)
            if status in (200, 409):
                tally.ok("decisions")
            else:
                tally.bad("decide", body)
        time.sleep(0.05)


def revoker(port, stop, tally):
    client = Client(port)
    n = 0
    while not stop.is_set():
        n += 1
        token, jti = mint(client, f"soak-rev-{n}", ["read_invoice"])
        before = client.call(token, "read_invoice", {"id": "r"})
        status, _ = client.request("POST", "/v1/admin/revoke", {"jti": jti, "reason": "soak"}, ADMIN)
        after = client.call(token, "read_invoice", {"id": "r"})
        revoked = error_code(after) == -32010 and "revoked" in str(after["error"].get("data", ""))
        if "result" in before and status == 200 and revoked:
            tally.ok("revoked")
        else:
            tally.bad("revoked", (before, status, after))
        stop.wait(0.5)


def exporter(port, stop, tally):
    client = Client(port)
    while not stop.wait(5):
        status, body = client.request("GET", f"/v1/admin/audit/export?format=json&tenant={TENANT}", token=ADMIN)
        lines = body.splitlines() if isinstance(body, str) else []
        if status == 200 and lines and all(json.loads(line).get("hash") for line in lines[:50]):
            tally.ok("exports")
        else:
            tally.bad("export", (status, str(body)[:200]))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def create_database(url: str) -> str:
    name = f"soak_{os.getpid()}_{int(time.time())}"
    subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True)
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name)), name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--rate", type=float, default=600, help="calls per second, all traffic threads together")
    ap.add_argument("--bin-dir", default="target/debug")
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    pg = os.environ.get("INTENTGATE_TEST_POSTGRES_URL")
    if not pg:
        print("soak: set INTENTGATE_TEST_POSTGRES_URL", file=sys.stderr)
        return 2
    db_url, db_name = create_database(pg)
    work = tempfile.mkdtemp(prefix="soak-")
    policy = os.path.join(work, "policy.rego")
    with open(policy, "w") as f:
        f.write(POLICY)
    up_port, gw_port = free_port(), free_port()
    demo_bin = os.path.join(args.bin_dir, "examples", "demo_tools")
    if not os.path.exists(demo_bin):
        demo_bin = os.path.join(args.bin_dir, "demo_tools")
    procs = [subprocess.Popen([demo_bin], env={"DEMO_ADDR": f"127.0.0.1:{up_port}"}, stdout=subprocess.DEVNULL)]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "INTENTGATE_ADDR": f"127.0.0.1:{gw_port}",
        "INTENTGATE_POSTGRES_URL": db_url,
        "INTENTGATE_MASTER_KEY": KEY,
        "INTENTGATE_ADMIN_TOKEN": ADMIN,
        "INTENTGATE_REQUIRE_CAPABILITY": "true",
        "INTENTGATE_UPSTREAM_URL": f"http://127.0.0.1:{up_port}/",
        "INTENTGATE_POLICY_FILE": policy,
        "INTENTGATE_APPROVAL_TIMEOUT_S": "30",
        "INTENTGATE_AUDIT_TARGET": "none",
        "INTENTGATE_DATA_DIR": work,
        "RUST_LOG": "warn",
    }
    gateway = subprocess.Popen([os.path.join(args.bin_dir, "intentgate")], env=env, stderr=subprocess.PIPE)
    procs.append(gateway)
    try:
        return run(args, gw_port, gateway)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run(["psql", pg, "-qc", f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"], check=False)


def run(args, port, gateway) -> int:
    for _ in range(200):
        try:
            Client(port).request("GET", "/healthz")
            break
        except OSError:
            time.sleep(0.05)
    admin = Client(port)
    token, _ = mint(admin, "soak-agent", ["read_invoice", "transfer_funds"])
    tally, stop, stop_helpers = Tally(), threading.Event(), threading.Event()
    # 90% plain calls over the traffic threads, 10% escalations over four threads.
    plain = args.rate * 0.9 / args.threads
    callers = [
        threading.Thread(target=traffic, args=(port, token, plain, stop, tally, i)) for i in range(args.threads)
    ]
    callers += [
        threading.Thread(target=escalations, args=(port, token, args.rate * 0.1 / 4, stop, tally)) for _ in range(4)
    ]
    helpers = [threading.Thread(target=f, args=(port, stop_helpers, tally)) for f in (approver, revoker, exporter)]
    started = time.monotonic()
    for t in callers + helpers:
        t.start()
    samples = []
    while time.monotonic() - started < args.seconds:
        samples.append(rss_kib(gateway.pid))
        time.sleep(1)
    stop.set()
    for t in callers:  # the approver stays until every waiting call is decided
        t.join(timeout=60)
    stop_helpers.set()
    for t in helpers:
        t.join(timeout=60)
    elapsed = time.monotonic() - started
    status, verdict = admin.request("GET", f"/v1/admin/audit/verify?tenant={TENANT}", token=ADMIN)
    chain_ok = status == 200 and verdict.get("ok") is True
    fifth = max(1, len(samples) // 5)
    early, late = statistics.median(samples[fifth : 2 * fifth]), statistics.median(samples[-fifth:])
    rss_flat = late <= early * 1.25 or late - early <= 24 * 1024
    calls = sum(v for k, v in tally.counts.items() if k in ("allowed", "denied", "escalated, decided"))
    print(f"soak: {elapsed:.0f} s, {calls} calls ({calls / elapsed:.0f}/s, target {args.rate:.0f}/s)")
    for kind, n in sorted(tally.counts.items()):
        print(f"  {kind:24} {n}")
    print(f"  chain verified           {verdict.get('verified') if isinstance(verdict, dict) else verdict} events, ok={chain_ok}")
    print(f"  RSS KiB                  start {samples[0]}, second fifth {early:.0f}, last fifth {late:.0f}, max {max(samples)}: {'flat' if rss_flat else 'GROWING'}")
    for failure in tally.failures:
        print(f"  unexpected: {failure}")
    kept_pace = calls / elapsed >= 0.8 * args.rate
    if not kept_pace:
        print(f"  the gateway did not keep the rate: {calls / elapsed:.0f}/s of {args.rate:.0f}/s")
    failed = bool(tally.failures) or not chain_ok or not rss_flat or not kept_pace
    print("soak: FAILED" if failed else "soak: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
