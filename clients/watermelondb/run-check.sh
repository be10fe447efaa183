#!/usr/bin/env bash
# The WatermelonDB client check: `make run` on a throwaway SQLite database and a free port,
# then `npm ci` and WatermelonDB's own synchronize() against it (sync-check.js).
# DATABASE_URL may name another database (e.g. a PostgreSQL one) to run against instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATABASE_URL="${DATABASE_URL:-sqlite:///$work/wellspring.db}"
export PORT="$port" HOST=127.0.0.1

# Its own process group (setsid), so the server and its workers stop together by that id.
(cd "$repo" && exec setsid make run >"$work/server.log" 2>&1) &
server=$!
cleanup() {
  kill -- "-$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null || { cat "$work/server.log"; exit 1; }

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
WELLSPRING_URL="http://127.0.0.1:$port" node sync-check.js || { tail -n 50 "$work/server.log"; exit 1; }
