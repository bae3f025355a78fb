#!/usr/bin/env bash
# `make demo`: from nothing to a DuckDB file of the sandbox demo company, through `meltano run`.
# First run: full sync. Later runs: the sandbox first simulates a day of activity in the company
# (POST /_admin/churn), then the job runs incrementally from Meltano's stored bookmarks and the
# report says how many rows changed.
set -euo pipefail
cd "$(dirname "$0")/.."
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false MELTANO_ENVIRONMENT=sandbox
PORT=8777
BIN=.venv/bin
DUCKDB_PY=$BIN/python  # duckdb pinned to the loader's version (pyproject "pipelines")

$BIN/meltano install >/dev/null 2>&1 || $BIN/meltano install
mkdir -p output .meltano/eaccounting
first_run=yes
[ -f output/warehouse.duckdb ] && first_run=no

$BIN/eaccounting-sandbox serve --host 127.0.0.1 --port "$PORT" --seed 1 >output/sandbox.log 2>&1 &
sandbox_pid=$!
trap 'kill $sandbox_pid 2>/dev/null || true; wait $sandbox_pid 2>/dev/null || true' EXIT
$BIN/python scripts/wait_for_sandbox.py "http://127.0.0.1:$PORT"

# The sandbox's tokens live as long as its process: start from the bootstrap token each time.
rm -f .meltano/eaccounting/sandbox-demo-no/tokens.json*
if [ "$first_run" = yes ]; then
  # No warehouse yet: forget bookmarks of any earlier demo so this run is a full sync.
  $BIN/meltano state clear --force sandbox:tap-eaccounting-to-target-duckdb >/dev/null 2>&1 || true
fi
if [ "$first_run" = no ]; then
  $BIN/python scripts/wait_for_sandbox.py "http://127.0.0.1:$PORT" --churn
fi
$DUCKDB_PY scripts/demo_report.py snapshot output/warehouse.duckdb output/.before.json
start=$(date +%s)
$BIN/meltano run demo >output/meltano-demo.log 2>&1 || { tail -40 output/meltano-demo.log; exit 1; }
echo "meltano run demo: $(( $(date +%s) - start ))s ($([ "$first_run" = yes ] && echo full || echo incremental) sync; log in output/meltano-demo.log)"
$DUCKDB_PY scripts/demo_report.py report output/warehouse.duckdb output/.before.json \
  "http://127.0.0.1:$PORT"
