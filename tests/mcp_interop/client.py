"""Interop client scenario on the official Python MCP SDK (mcp 1.x and 2.x, same script).

Prints one JSON line per step, {"step":..., "ok":..., "detail":...}, and exits 1 when any
step failed (2 on bad arguments).

  mcp 1.x: ClientSession over streamable_http_client(url, http_client=httpx.AsyncClient(
           headers={"Authorization": "Bearer ..."}), terminate_on_close=True)
  mcp 2.x: Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=...),
           terminate_on_close=True), mode=--mode)   mode: legacy | auto | 2026-07-28
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from contextlib import AsyncExitStack
from typing import Any

import anyio
import mcp

try:
    from importlib.metadata import version as _dist_version

    MCP_VERSION = _dist_version("mcp")
except Exception:  # pragma: no cover
    MCP_VERSION = "?"
SDK_MAJOR = int(MCP_VERSION.split(".")[0]) if MCP_VERSION[:1].isdigit() else 1

if SDK_MAJOR >= 2:
    import httpx2 as httpx
    from mcp.client import Client
else:
    import httpx
    from mcp import ClientSession

from mcp.client.streamable_http import streamable_http_client

STEP_TIMEOUT = 10.0
FAILED = False


def emit(step: str, ok: bool, detail: Any, **extra: Any) -> None:
    global FAILED
    if not ok:
        FAILED = True
    line = {"step": step, "ok": ok, "detail": detail}
    line.update(extra)
    print(json.dumps(line, default=str), flush=True)


def error_code(exc: BaseException) -> int | None:
    """The JSON-RPC error code of an MCP error (McpError in 1.x, MCPError in 2.x)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        err = getattr(e, "error", None)
        code = getattr(err, "code", None)
        if isinstance(code, int):
            return code
        stack.extend(getattr(e, "exceptions", ()) or ())
        for nxt in (e.__cause__, e.__context__):
            if nxt is not None:
                stack.append(nxt)
    return None


def describe(exc: BaseException) -> str:
    """One line: the leaf exceptions (task groups wrap the real error), with MCP code/data."""

    def leaves(e: BaseException) -> list[BaseException]:
        subs = getattr(e, "exceptions", None)
        if subs:
            return [leaf for sub in subs for leaf in leaves(sub)]
        return [e]

    parts = []
    for leaf in leaves(exc):
        text = f"{type(leaf).__name__}: {leaf}"
        err = getattr(leaf, "error", None)
        if err is not None and getattr(err, "code", None) is not None:
            data = getattr(err, "data", None)
            text += f" (code {err.code}" + (f", data {json.dumps(data, default=str)}" if data is not None else "") + ")"
        parts.append(text)
    return " | ".join(parts)[:600]


def is_error(result: Any) -> bool:
    """CallToolResult.isError (1.x) / .is_error (2.x)."""
    value = getattr(result, "is_error", None)
    if value is None:
        value = getattr(result, "isError", None)
    return bool(value)


def text_of(result: Any) -> str:
    out = []
    for block in getattr(result, "content", None) or []:
        t = getattr(block, "text", None)
        if t is not None:
            out.append(t)
    return "".join(out)


async def run(args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {args.token}"}
    http = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30.0, read=60.0))
    expected_tools = sorted(t for t in args.expect_tools.split(",") if t)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append((p, total, message))

    steps_left = ["tools_list", "read_invoice", "send_email", "slow_count", "ping", "close"]
    stack = AsyncExitStack()
    session: Any = None
    try:
        # --- connect -------------------------------------------------------------------
        t0 = time.monotonic()
        # No per-step cancel scope here: the transport's task group lives on in `stack`
        # after this step, so only the run-wide deadline (main) bounds the handshake.
        try:
            await stack.enter_async_context(http)
            transport = streamable_http_client(args.url, http_client=http, terminate_on_close=True)
            if SDK_MAJOR >= 2:
                client = Client(transport, mode=args.mode, read_timeout_seconds=STEP_TIMEOUT)
                session = await stack.enter_async_context(client)
                version = client.protocol_version
                server = client.server_info.name if client.server_info else None
            else:
                read, write, _get_session_id = await stack.enter_async_context(transport)
                cs = await stack.enter_async_context(ClientSession(read, write))
                with anyio.fail_after(STEP_TIMEOUT):
                    init = await cs.initialize()
                session = cs
                version = init.protocolVersion
                server = init.serverInfo.name
            emit(
                "connect",
                True,
                f"protocol {version}, server {server}",
                sdk=f"mcp {MCP_VERSION}",
                mode=args.mode if SDK_MAJOR >= 2 else "legacy",
                protocol_version=version,
                ms=int((time.monotonic() - t0) * 1000),
            )
        except BaseException as e:  # noqa: BLE001 - report everything
            emit("connect", False, describe(e), sdk=f"mcp {MCP_VERSION}")
            for s in steps_left[:-1]:
                emit(s, False, "not run: connect failed")
            session = None
            return
        modern = str(version) >= "2026"

        # --- tools/list ----------------------------------------------------------------
        try:
            with anyio.fail_after(STEP_TIMEOUT):
                tools = await session.list_tools()
            names = sorted(t.name for t in tools.tools)
            emit("tools_list", names == expected_tools, {"got": names, "expected": expected_tools})
        except BaseException as e:  # noqa: BLE001
            emit("tools_list", False, describe(e))

        # --- read_invoice ----------------------------------------------------------------
        try:
            with anyio.fail_after(STEP_TIMEOUT):
                result = await session.call_tool("read_invoice", {"id": "42"})
            text = text_of(result)
            ok = not is_error(result) and text.startswith("Invoice 42:")
            emit("read_invoice", ok, {"is_error": is_error(result), "text": text[:200]})
        except BaseException as e:  # noqa: BLE001
            emit("read_invoice", False, describe(e), code=error_code(e))

        # --- send_email ------------------------------------------------------------------
        if args.send_email == "skip":
            emit("send_email", True, "skipped (--send-email skip)", skipped=True)
        else:
            try:
                with anyio.fail_after(STEP_TIMEOUT):
                    result = await session.call_tool("send_email", {"to": "a@example.com", "body": "hi"})
                if args.send_email == "allow":
                    emit("send_email", not is_error(result), {"is_error": is_error(result), "text": text_of(result)[:200]})
                else:
                    emit(
                        "send_email",
                        False,
                        {"expected": "JSON-RPC error -32010", "got_result": text_of(result)[:200], "is_error": is_error(result)},
                    )
            except BaseException as e:  # noqa: BLE001
                code = error_code(e)
                if args.send_email == "deny":
                    # The reference's reason for a tool outside the token's tool_allow.
                    reason_ok = 'tool \\"send_email\\" not in allowed set' in describe(e)
                    emit("send_email", code == -32010 and reason_ok, {"code": code, "error": describe(e)}, code=code)
                else:
                    emit("send_email", False, describe(e), code=code)

        # --- slow_count with progress -----------------------------------------------------
        try:
            with anyio.fail_after(STEP_TIMEOUT):
                result = await session.call_tool("slow_count", {"n": args.n}, progress_callback=on_progress)
            await anyio.sleep(0.1)  # let trailing notifications be dispatched
            text = text_of(result)
            ok = (not is_error(result)) and text == f"counted to {args.n}" and len(progress) >= args.progress_min
            emit(
                "slow_count",
                ok,
                {
                    "text": text[:200],
                    "progress_count": len(progress),
                    "n": args.n,
                    "progress_min": args.progress_min,
                    "last": progress[-1] if progress else None,
                },
            )
        except BaseException as e:  # noqa: BLE001
            emit("slow_count", False, describe(e), code=error_code(e), progress_count=len(progress))

        # --- ping ------------------------------------------------------------------------
        if modern:
            emit("ping", True, f"skipped: ping is removed in protocol {version}", skipped=True)
        else:
            try:
                with anyio.fail_after(STEP_TIMEOUT):
                    import warnings

                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        await session.send_ping()
                emit("ping", True, "pong")
            except BaseException as e:  # noqa: BLE001
                emit("ping", False, describe(e), code=error_code(e))
    finally:
        # --- close (DELETE on a stateful session: terminate_on_close=True) ----------------
        if session is not None:
            try:
                await stack.aclose()
                emit("close", True, "closed (DELETE sent if the server issued a session id)")
            except BaseException as e:  # noqa: BLE001
                emit("close", False, describe(e))
        else:
            try:
                await stack.aclose()
            except BaseException:  # noqa: BLE001
                pass
            emit("close", False, "not run: connect failed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", default="interop-direct", help="sent as Authorization: Bearer <token>")
    ap.add_argument("--expect-tools", required=True, help="comma-separated tools/list result, e.g. read_invoice,slow_count")
    ap.add_argument(
        "--send-email",
        choices=("deny", "allow", "skip"),
        default="deny",
        help="deny: expect JSON-RPC error -32010; allow: expect success (direct to upstream); skip",
    )
    ap.add_argument("--n", type=int, default=5, help="slow_count argument")
    ap.add_argument(
        "--progress-min",
        type=int,
        default=1,
        help="minimum progress notifications for slow_count (0 for JSON-response upstreams, which drop them)",
    )
    ap.add_argument("--mode", default="legacy", help="mcp 2.x Client mode: legacy | auto | 2026-07-28 (ignored on 1.x)")
    ap.add_argument("--timeout", type=float, default=40.0, help="deadline for the whole scenario, seconds")
    args = ap.parse_args()
    if SDK_MAJOR < 2 and args.mode != "legacy":
        print(f"--mode {args.mode} needs mcp 2.x (have {MCP_VERSION})", file=sys.stderr)
        sys.exit(2)
    async def bounded() -> None:
        # One deadline for the whole scenario, wrapping every context the steps open.
        with anyio.fail_after(args.timeout):
            await run(args)

    try:
        anyio.run(bounded)
    except BaseException as e:  # noqa: BLE001
        traceback.print_exc()
        emit("harness", False, describe(e))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
