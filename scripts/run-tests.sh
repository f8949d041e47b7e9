#!/usr/bin/env bash
# Run the whole suite on SQLite (the embedded default), then on PostgreSQL with Redis.
# The pytest session itself starts a throwaway PostgreSQL and Redis (tests/servers.py).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
WORKERS=${TEST_WORKERS:-2}

status=0
echo "== Test suite on SQLite"
TEST_DB=sqlite "$BIN/pytest" -n "$WORKERS" ${PYTEST_ARGS:-} || status=1
echo "== Test suite on PostgreSQL with Redis"
TEST_DB=postgresql "$BIN/pytest" -n "$WORKERS" ${PYTEST_ARGS:-} || status=1
if [ $status -ne 0 ]; then
  echo "FAILED: see the output above." >&2
fi
exit $status
