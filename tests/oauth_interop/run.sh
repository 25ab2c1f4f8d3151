#!/usr/bin/env bash
# OAuth harness: the gateway as an OAuth 2.1 resource server in front of the official
# TypeScript SDK's tool server, against a real authorization server (oidc-provider, a
# certified OpenID Connect implementation) and a second, untrusted one; the official
# TypeScript SDK client signs in through it. Pinned npm packages, loopback only.
#
#   tests/oauth_interop/run.sh
#
# Environment:
#   OAUTH_INTEROP_CACHE  install + run directory (default: <repo>/target/oauth-interop)
#   INTENTGATE_BIN       gateway binary          (default: <repo>/target/debug/intentgate)
#
# Exit status: 0 when every check passed, 1 when any failed, 2 on setup errors.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${OAUTH_INTEROP_CACHE:-$REPO/target/oauth-interop}"
INTENTGATE_BIN="${INTENTGATE_BIN:-$REPO/target/debug/intentgate}"
die() { echo "run.sh: $*" >&2; exit 2; }
[[ -x "$INTENTGATE_BIN" ]] || die "no gateway binary at $INTENTGATE_BIN (cargo build first)"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Pinned installs, once per lockfile.
mkdir -p "$CACHE"
want="$(sha256sum "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -c1-16)"
if [[ ! -f "$CACHE/.stamp" || "$(cat "$CACHE/.stamp")" != "$want" ]]; then
  echo "npm ci into $CACHE (oidc-provider, @modelcontextprotocol/sdk as locked)"
  rm -rf "$CACHE/node_modules"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$CACHE/"
  (cd "$CACHE" && timeout 600 npm ci --no-audit --no-fund >"$CACHE/install.log" 2>&1) \
    || { tail -20 "$CACHE/install.log" >&2; die "npm ci failed"; }
  echo "$want" >"$CACHE/.stamp"
fi
# ESM resolves packages from the script's folder: run the scripts beside node_modules.
cp "$HERE"/*.mjs "$HERE/policy.rego" "$CACHE/"
RUN="$(mktemp -d "$CACHE/run.XXXXXX")"

ready_line() { # file: waits for "READY <x>" and prints x
  for _ in $(seq 1 150); do
    if grep -q '^READY ' "$1" 2>/dev/null; then sed -n 's/^READY //p' "$1" | head -1; return; fi
    sleep 0.1
  done
  cat "${1%.out}.err" >&2 || true
  die "no READY line in $1"
}
free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

cd "$CACHE"
AS_PORT=0 timeout 600 node as.mjs >"$RUN/as.out" 2>"$RUN/as.err" & PIDS+=($!)
AS_PORT=0 timeout 600 node as.mjs >"$RUN/other.out" 2>"$RUN/other.err" & PIDS+=($!)
UP_PORT=0 timeout 600 node upstream.mjs >"$RUN/up.out" 2>"$RUN/up.err" & PIDS+=($!)
ISSUER="$(ready_line "$RUN/as.out")"
OTHER_ISSUER="$(ready_line "$RUN/other.out")"
UPSTREAM="$(ready_line "$RUN/up.out")"

PORT="$(free_port)"
GATEWAY="http://127.0.0.1:$PORT"
ADMIN_TOKEN="oauth-interop-admin-$(date +%s%N)"
INTENTGATE_ADDR="127.0.0.1:$PORT" \
INTENTGATE_STORE=sled INTENTGATE_DATA_DIR="$RUN/data" INTENTGATE_AUDIT_TARGET=none \
INTENTGATE_UPSTREAM_URL="$UPSTREAM" INTENTGATE_REQUIRE_CAPABILITY=true \
INTENTGATE_POLICY_FILE="$CACHE/policy.rego" INTENTGATE_ADMIN_TOKEN="$ADMIN_TOKEN" \
INTENTGATE_OAUTH_ISSUERS="$ISSUER" INTENTGATE_OAUTH_RESOURCE="$GATEWAY/v1/mcp" \
INTENTGATE_OAUTH_LEEWAY_S=0 INTENTGATE_OAUTH_KEYS_MIN_INTERVAL_S=1 \
  timeout 600 "$INTENTGATE_BIN" >"$RUN/gateway.out" 2>"$RUN/gateway.err" & PIDS+=($!)
for _ in $(seq 1 100); do
  curl -fs "$GATEWAY/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$GATEWAY/readyz" >/dev/null || { cat "$RUN/gateway.err" >&2; die "gateway not ready (issuer keys?)"; }
echo "authorization server $ISSUER, untrusted $OTHER_ISSUER, tool server $UPSTREAM, gateway $GATEWAY"

status=0
GATEWAY="$GATEWAY" RESOURCE="$GATEWAY/v1/mcp" ISSUER="$ISSUER" OTHER_ISSUER="$OTHER_ISSUER" \
ADMIN_TOKEN="$ADMIN_TOKEN" CLIENT_JS="$CACHE/client.mjs" \
  timeout 300 node checks.mjs 2>"$RUN/client.err" || status=1
if grep -q 'authorization=PRESENT' "$RUN/up.err"; then
  echo "FAIL  a client's bearer token reached the tool server"; status=1
else
  echo "ok    no bearer token reached the tool server ($(grep -c '^\[upstream\]' "$RUN/up.err") requests)"
fi
if [[ $status != 0 ]]; then
  echo "--- SDK client trace"; tail -30 "$RUN/client.err"
  echo "--- gateway"; tail -30 "$RUN/gateway.err"
  echo "--- authorization server"; tail -30 "$RUN/as.err"
  echo "(logs kept in $RUN)"
else
  cleanup
  rm -rf "$RUN"
fi
exit $status
