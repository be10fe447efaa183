#!/usr/bin/env bash
# The generated clients, used for real (issue 14): generates the Python client
# (openapi-python-client, zero warnings) and runs clients/python/scenario.py through it against
# a live server; generates the TypeScript types (openapi-typescript) and type-checks
# clients/typescript/scenario.ts with `tsc --strict`. `make clients` runs it; so does .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GEN_VENV=clients/.venv
OPC_VERSION="0.29.1"

echo "== generated clients =="
make -s .venv/.installed >/dev/null

# 1. Python: openapi-python-client in its own venv (its pins stay out of the app's).
if ! "$GEN_VENV/bin/openapi-python-client" --version 2>/dev/null | grep -q "$OPC_VERSION"; then
  python3 -m venv "$GEN_VENV"
  "$GEN_VENV/bin/python" -m pip install --quiet --upgrade pip
  "$GEN_VENV/bin/python" -m pip install --quiet "openapi-python-client==$OPC_VERSION"
fi
rm -rf clients/python/generated
# Its post-generation hooks run ruff, which lives in that venv.
PATH="$ROOT/$GEN_VENV/bin:$PATH" "$GEN_VENV/bin/openapi-python-client" generate \
  --path openapi/openapi.json --config clients/python/config.yml \
  --output-path clients/python/generated --fail-on-warning 2>&1 | tee /tmp/wellspring-opc.log
if grep -qi "warning" /tmp/wellspring-opc.log; then
  echo "openapi-python-client warned: fix the spec (or its config), warnings fail the build" >&2
  exit 1
fi

# A live server on a throwaway SQLite database.
WORK=$(mktemp -d)
PORT=$("$GEN_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite:///$WORK/clients.db" HOST=127.0.0.1 PORT WELLSPRING_ENV=development
export PUBLIC_BASE_URL="http://127.0.0.1:$PORT" GUNICORN_ACCESS_LOG="" LOG_LEVEL=WARNING
.venv/bin/flask --app api migrate >/dev/null
.venv/bin/gunicorn --config gunicorn.conf.py 'api:create_app()' >"$WORK/server.log" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
PYTHONPATH=clients/python/generated "$GEN_VENV/bin/python" clients/python/scenario.py \
  "http://127.0.0.1:$PORT" || { tail -50 "$WORK/server.log" >&2; exit 1; }

# 2. TypeScript: types from the same spec, the scenario type-checked strictly.
cd clients/typescript
npm ci --no-audit --no-fund --loglevel=error
npx --no-install openapi-typescript ../../openapi/openapi.json --default-non-nullable false --output generated/schema.d.ts
npx --no-install tsc --strict --noEmit -p .
echo "typescript scenario type-checks (tsc --strict)"
