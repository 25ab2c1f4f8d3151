"""Reporting helpers for run.sh (stdlib only, any Python 3.9+).

  report.py cell OUT ERR RC            -> prints "STATUS<US>short<US>reason" for one cell (US = 0x1f)
  report.py matrix RESULTS.tsv CLIENTS MODES TITLE
                                        -> prints the matrix plus numbered reasons
  report.py headers CELLS_DIR          -> per-client summary of the requests the upstream saw
"""

from __future__ import annotations

import json
import os
import sys
from collections import OrderedDict

SEP = "\x1f"  # unit separator: empty fields survive bash `read`
STEPS = ("connect", "tools_list", "read_invoice", "send_email", "slow_count", "ping", "close")


def _short(value: object, limit: int = 220) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _session_note(out_path: str) -> str:
    """'DEL' when the upstream opened a session and later saw a DELETE for it, 'noDEL' when
    it opened one that was never deleted, '' when no upstream session was opened."""
    base = out_path[: -len(".out")] if out_path.endswith(".out") else out_path
    opened, deleted = set(), set()
    try:
        with open(base + ".upstream.jsonl", encoding="utf-8") as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if r.get("response_mcp_session_id"):
                    opened.add(r["response_mcp_session_id"])
                sid = (r.get("headers") or {}).get("mcp-session-id")
                if r.get("method") == "DELETE" and sid and 200 <= int(r.get("status") or 0) < 300:
                    deleted.add(sid)
    except OSError:
        return ""
    if not opened:
        return ""
    return "DEL" if opened <= deleted else "noDEL"


def cell(out_path: str, err_path: str, rc: str) -> None:
    steps: "OrderedDict[str, dict]" = OrderedDict()
    try:
        with open(out_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and "step" in rec:
                    steps.setdefault(rec["step"], rec)
    except OSError:
        pass
    err_tail = ""
    try:
        with open(err_path, encoding="utf-8", errors="replace") as f:
            lines = [l.rstrip() for l in f if l.strip()]
            err_tail = " / ".join(lines[-3:])
    except OSError:
        pass

    progress = ""
    sc = steps.get("slow_count")
    if sc and isinstance(sc.get("detail"), dict) and "progress_count" in sc["detail"]:
        progress = f"p{sc['detail']['progress_count']}/{sc['detail'].get('n')}"
    proto = steps.get("connect", {}).get("protocol_version") or ""
    short = " ".join(x for x in (proto[:10] if proto else "", progress, _session_note(out_path)) if x)

    failed = [(name, rec) for name, rec in steps.items() if not rec.get("ok")]
    missing = [s for s in STEPS if s not in steps]
    if rc == "0" and not failed and not missing:
        print(f"PASS{SEP}{short}{SEP}all steps ok")
        return
    reasons = []
    if rc == "124":
        reasons.append("client killed by `timeout 60`")
    for name, rec in failed:
        detail = rec.get("detail")
        if isinstance(detail, str) and detail.startswith("not run"):
            continue
        code = rec.get("code")
        reasons.append(f"{name}: {_short(detail)}" + (f" [code {code}]" if code is not None and "code" not in _short(detail) else ""))
    if missing and not failed:
        reasons.append(f"no result for steps {','.join(missing)} (rc={rc})")
    if not steps:
        reasons.append(f"no step output (rc={rc})")
    if (not steps or rc not in ("0", "1")) and err_tail:
        reasons.append(f"stderr: {_short(err_tail, 400)}")
    print(f"FAIL{SEP}{short}{SEP}{' | '.join(reasons) or f'rc={rc}'}")


def matrix(results_path: str, clients: str, modes: str, title: str) -> int:
    client_list = clients.split()
    mode_list = modes.split()
    results: dict[tuple[str, str], tuple[str, str, str]] = {}
    with open(results_path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 5:
                results[(parts[0], parts[1])] = (parts[2], parts[3], parts[4])
    notes: list[str] = []
    rows = []
    failures = 0
    for c in client_list:
        row = [c]
        for m in mode_list:
            status, short, reason = results.get((c, m), ("N/A", "", "not run"))
            if status == "PASS":
                text = f"PASS {short}".strip()
            else:
                if status == "FAIL":
                    failures += 1
                notes.append(f"[{len(notes) + 1}] {c} x {m}: {status}: {reason}")
                text = f"{status} [{len(notes)}]"
            row.append(text)
        rows.append(row)
    header = ["client \\ upstream"] + mode_list
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    print(title)
    print(sep)
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print(sep)
    for r in rows:
        print("| " + " | ".join(x.ljust(w) for x, w in zip(r, widths)) + " |")
    print(sep)
    print("PASS cells: negotiated protocol version; progress notifications received/n (JSON-response")
    print("upstreams drop progress by design, so p0 is expected there); DEL/noDEL: the upstream opened")
    print("a session and did / did not see a DELETE for it (informational, not a failure).")
    if notes:
        print()
        for n in notes:
            print(n)
    print()
    total = len(client_list) * len(mode_list)
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0


HDRS = (
    ("accept", "Accept"),
    ("mcp-protocol-version", "MCP-Protocol-Version"),
    ("mcp-session-id", "Mcp-Session-Id"),
    ("mcp-method", "Mcp-Method"),
    ("mcp-name", "Mcp-Name"),
    ("last-event-id", "Last-Event-ID"),
    ("authorization", "Authorization"),
)


def headers(cells_dir: str) -> None:
    files = sorted(f for f in os.listdir(cells_dir) if f.endswith(".upstream.jsonl"))
    for name in files:
        client, mode = name[: -len(".upstream.jsonl")].split("__", 1)
        print(f"## {client} -> {mode}")
        with open(os.path.join(cells_dir, name), encoding="utf-8") as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                h = r.get("headers", {})
                rpc = r.get("rpc") or []
                what = ",".join(
                    (e.get("method") or "response") + (f"({e['name']})" if e.get("name") else "") for e in rpc if isinstance(e, dict)
                )
                shown = []
                for key, label in HDRS:
                    if key in h:
                        value = h[key]
                        if key == "mcp-session-id":
                            value = value[:8] + "..."
                        shown.append(f"{label}: {value}")
                print(
                    f"  {r.get('method'):6} {what or '-':28} -> {r.get('status')} {r.get('response_content_type', '') or ''}"
                    + ("\n      " + "; ".join(shown) if shown else "")
                )
        print()


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cmd = sys.argv[1]
    if cmd == "cell" and len(sys.argv) == 5:
        cell(*sys.argv[2:5])
        return 0
    if cmd == "matrix" and len(sys.argv) == 6:
        return matrix(*sys.argv[2:6])
    if cmd == "headers" and len(sys.argv) == 3:
        headers(sys.argv[2])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
