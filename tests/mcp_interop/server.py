"""Upstream MCP tool server for the interop harness, built on the official Python SDK.

mcp 2.x calls the high-level server `MCPServer` (`mcp.server.mcpserver`); mcp 1.x calls it
`FastMCP` (`mcp.server.fastmcp`). Both are supported so the same script runs in either venv.

Usage:
    python server.py --mode stateful-sse --port 0 --port-file /tmp/p --log /tmp/requests.jsonl

Modes (Streamable HTTP at /mcp):
    stateless-json          json_response=True,  stateless_http=True
    stateless-sse           json_response=False, stateless_http=True
    stateful-json           json_response=True,  stateless_http=False
    stateful-sse            json_response=False, stateless_http=False (the SDK default)
    stateful-sse-resumable  stateful-sse plus an in-memory EventStore (priming events,
                            SSE ids, retry_interval=500ms); slow_count closes its POST
                            SSE stream half-way (ctx.close_sse_stream()), so the client
                            must resume with GET + Last-Event-ID

Protocol 2026-07-28 is not a server mode in mcp 2.3.0: the session manager routes every
request whose MCP-Protocol-Version header is not a handshake-era version (so
"2026-07-28") to its single-exchange handler, in every mode above (JSON or SSE by
json_response). A client opts in (Python `Client(mode="auto"|"2026-07-28")`, TS
`versionNegotiation`).

Every HTTP request is logged as one JSON line to --log: method, path, the MCP-relevant
headers (Authorization redacted to its scheme and length), the JSON-RPC method(s) of the
body, the response status and content type. GET /healthz answers 200 for readiness checks.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import sys
import time
from typing import Any

import warnings

import uvicorn

# ctx.info() is deprecated in mcp 2.x (SEP-2577) but still what 2025 clients receive.
warnings.filterwarnings("ignore", category=UserWarning, module="mcp")
warnings.filterwarnings("ignore", message=".*deprecated.*")

try:  # mcp 2.x
    from mcp.server.mcpserver import Context, MCPServer as _Server

    SDK_MAJOR = 2
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import Context, FastMCP as _Server  # type: ignore[no-redef]

    SDK_MAJOR = 1

from mcp.server.streamable_http import EventStore

MODES = ("stateless-json", "stateless-sse", "stateful-json", "stateful-sse", "stateful-sse-resumable")

INVOICE_TEXT = "Invoice {id}: 1250.00 EUR, due 2026-06-30, vendor ACME GmbH"

LOGGED_HEADERS = (
    "accept",
    "content-type",
    "mcp-protocol-version",
    "mcp-session-id",
    "mcp-method",
    "mcp-name",
    "last-event-id",
    "user-agent",
    "host",
    "x-intent-prompt",
)


class MemoryEventStore(EventStore):
    """The smallest EventStore that makes resumption work: every event, kept in memory."""

    def __init__(self) -> None:
        self._events: list[tuple[str, str, Any]] = []  # (event_id, stream_id, message)
        self._ids = itertools.count(1)

    async def store_event(self, stream_id, message):  # type: ignore[override]
        event_id = str(next(self._ids))
        self._events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id, send_callback):  # type: ignore[override]
        index = next((i for i, e in enumerate(self._events) if e[0] == last_event_id), None)
        if index is None:
            return None
        stream_id = self._events[index][1]
        for event_id, sid, message in self._events[index + 1 :]:
            if sid == stream_id and message is not None:
                await _replay(send_callback, event_id, message)
        return stream_id


async def _replay(send_callback, event_id, message) -> None:
    from mcp.server.streamable_http import EventMessage

    await send_callback(EventMessage(message, event_id))


def build_server(mode: str) -> Any:
    json_response = mode.endswith("-json")
    stateless = mode.startswith("stateless")
    resumable = mode == "stateful-sse-resumable"
    if SDK_MAJOR == 2:
        server = _Server("interop-upstream", version="1.0.0")
    else:
        server = _Server("interop-upstream", json_response=json_response, stateless_http=stateless)

    @server.tool()
    def read_invoice(id: str) -> str:
        """Read one invoice by id."""
        return INVOICE_TEXT.format(id=id)

    @server.tool()
    def send_email(to: str, body: str) -> str:
        """Send an email (pretend)."""
        return f"sent {len(body)} characters to {to}"

    @server.tool()
    async def slow_count(n: int, ctx: Context) -> str:
        """Count to n, reporting progress after each step."""
        n = max(0, min(int(n), 50))
        try:
            await ctx.info(f"slow_count starting, n={n}")
        except Exception as e:  # logging is optional (opt-in on 2026-07-28); never fail the tool
            print(f"log message not sent: {e!r}", file=sys.stderr)
        for i in range(1, n + 1):
            await asyncio.sleep(0.02)
            await ctx.report_progress(i, n, f"counted {i}/{n}")
            if resumable and i == n // 2 and hasattr(ctx, "close_sse_stream"):
                # SEP-1699 polling: end this POST's SSE stream mid-call; the client must
                # reconnect with GET + Last-Event-ID and get the rest replayed.
                await ctx.close_sse_stream()
                await asyncio.sleep(0.3)
        return f"counted to {n}"

    return server


def build_app(server: Any, mode: str) -> Any:
    json_response = mode.endswith("-json")
    stateless = mode.startswith("stateless")
    if SDK_MAJOR == 1:
        return server.streamable_http_app()
    kwargs: dict[str, Any] = {"json_response": json_response, "stateless_http": stateless}
    if mode == "stateful-sse-resumable":
        kwargs["event_store"] = MemoryEventStore()
        kwargs["retry_interval"] = 500
    return server.streamable_http_app(**kwargs)


class RequestLog:
    """ASGI middleware: one JSON line per HTTP request; GET /healthz answered locally."""

    def __init__(self, app: Any, path: str | None, mode: str) -> None:
        self.app = app
        self.path = path
        self.mode = mode
        self.seq = itertools.count(1)

    def write(self, record: dict[str, Any]) -> None:
        if not self.path:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/healthz":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return None
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            name = k.decode("latin-1").lower()
            value = v.decode("latin-1")
            if name == "authorization":
                scheme = value.split(" ", 1)[0]
                headers[name] = f"{scheme} <{len(value) - len(scheme) - 1} chars>"
            elif name in LOGGED_HEADERS or name.startswith("mcp-"):
                headers[name] = value
        body = bytearray()
        record: dict[str, Any] = {
            "seq": next(self.seq),
            "t": round(time.time(), 3),
            "mode": self.mode,
            "method": scope["method"],
            "path": scope["path"],
            "headers": headers,
        }

        async def wrapped_receive():
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def wrapped_send(message):
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
                for k, v in message.get("headers", []):
                    name = k.decode("latin-1").lower()
                    if name in ("content-type", "mcp-session-id"):
                        record["response_" + name.replace("-", "_")] = v.decode("latin-1")
                record["rpc"] = _rpc_summary(bytes(body))
                self.write(record)
            await send(message)

        return await self.app(scope, wrapped_receive, wrapped_send)


def _rpc_summary(body: bytes) -> Any:
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return "unparseable"
    items = data if isinstance(data, list) else [data]
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        entry: dict[str, Any] = {}
        if "method" in item:
            entry["method"] = item["method"]
            params = item.get("params") or {}
            if isinstance(params, dict):
                if "name" in params:
                    entry["name"] = params["name"]
                meta = params.get("_meta")
                if isinstance(meta, dict):
                    entry["meta_keys"] = sorted(meta.keys())
                if item["method"] == "initialize":
                    entry["protocolVersion"] = params.get("protocolVersion")
        else:
            entry["response"] = True
        entry["id"] = item.get("id")
        out.append(entry)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=MODES, required=True)
    ap.add_argument("--port", type=int, default=0, help="0 picks a free loopback port")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--log", help="append one JSON line per HTTP request to this file")
    args = ap.parse_args()
    if SDK_MAJOR == 1 and args.mode == "stateful-sse-resumable":
        sys.exit("stateful-sse-resumable needs mcp 2.x in this script")

    server = build_server(args.mode)
    app = RequestLog(build_app(server, args.mode), args.log, args.mode)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    userver = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(userver.serve(sockets=[sock]))
        deadline = time.monotonic() + 30
        while not userver.started and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.05)
        if args.port_file and userver.started:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(str(port))
            os.replace(tmp, args.port_file)
        print(f"interop upstream (mcp {SDK_MAJOR}.x) mode={args.mode} on 127.0.0.1:{port}", file=sys.stderr)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
