#!/usr/bin/env bash
# `make demo`: the sandbox demo company -> `meltano run postgres-elt` (tap-eaccounting -> target-postgres,
# the production job) -> an embedded PostgreSQL in output/postgres, then a row-count table and a query.
# First run: full sync. Later runs: the sandbox first simulates a day of activity in the company
# (POST /_admin/churn), then the job runs incrementally from Meltano's stored bookmarks and the
# report says how many rows changed. Expects the plugins installed (`make demo` runs `meltano install`).
# For tests/pipelines: BIN (default .venv/bin), DEMO_PORT (the sandbox's port, default 8777) and
# DEMO_PGDATA (the Postgres' data directory, default output/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false MELTANO_ENVIRONMENT=sandbox
BIN=${BIN:-.venv/bin}
PORT=${DEMO_PORT:-8777}
PGDATA_DIR=${DEMO_PGDATA:-output/postgres}
STATE_ID=sandbox:tap-eaccounting-to-target-postgres

mkdir -p output .meltano/eaccounting
first_run=yes
[ -f "$PGDATA_DIR/PG_VERSION" ] && first_run=no

"$BIN/eaccounting-sandbox" serve --host 127.0.0.1 --port "$PORT" --seed 1 >output/sandbox.log 2>&1 &
sandbox_pid=$!
stop_all() {
  kill "$sandbox_pid" 2>/dev/null || true
  wait "$sandbox_pid" 2>/dev/null || true
  "$BIN/python" scripts/demo_postgres.py stop "$PGDATA_DIR" || true
}
trap stop_all EXIT
# While the sandbox starts: the Postgres (~5 s to initialise the first time, then ~1 s).
pg_url=$("$BIN/python" scripts/demo_postgres.py start "$PGDATA_DIR")
"$BIN/python" scripts/wait_for_sandbox.py "http://127.0.0.1:$PORT"
# The server's own word on its URL wins over meltano.yml's (which assumes the socket in output/postgres).
export TARGET_POSTGRES_SQLALCHEMY_URL=$pg_url
export TAP_EACCOUNTING_API_URL=http://127.0.0.1:$PORT/v2 TAP_EACCOUNTING_IDENTITY_URL=http://127.0.0.1:$PORT

# The sandbox's tokens live as long as its process: start from the bootstrap token each time.
rm -f .meltano/eaccounting/sandbox-demo-no/tokens.json*
if [ "$first_run" = yes ]; then
  # A new database: forget bookmarks of any earlier demo so this run is a full sync.
  "$BIN/meltano" state clear --force "$STATE_ID" >/dev/null 2>&1 || true
else
  "$BIN/python" scripts/wait_for_sandbox.py "http://127.0.0.1:$PORT" --churn
fi
"$BIN/python" scripts/demo_report.py snapshot "$pg_url" output/.before.json
start=$(date +%s)
"$BIN/meltano" run postgres-elt >output/meltano-demo.log 2>&1 || { tail -40 output/meltano-demo.log; exit 1; }
echo "meltano run postgres-elt: $(( $(date +%s) - start ))s ($([ "$first_run" = yes ] && echo full || echo incremental) sync; log in output/meltano-demo.log)"
"$BIN/python" scripts/demo_report.py report "$pg_url" output/.before.json "http://127.0.0.1:$PORT"
