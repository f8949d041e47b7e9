#!/usr/bin/env bash
# Run the whole suite on SQLite (the embedded default), then on PostgreSQL with Redis.
# The pytest session itself starts a throwaway PostgreSQL and Redis (tests/servers.py).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
WORKERS=${TEST_WORKERS:-2}
# loadgroup: tests marked xdist_group (those on a costly data set) share one worker
XDIST="-n $WORKERS --dist loadgroup"

status=0
echo "== Test suite on SQLite"
TEST_DB=sqlite "$BIN/pytest" $XDIST ${PYTEST_ARGS:-} || status=1
echo "== Test suite on PostgreSQL with Redis"
TEST_DB=postgresql "$BIN/pytest" $XDIST ${PYTEST_ARGS:-} || status=1
if [ $status -ne 0 ]; then
  echo "FAILED: see the output above." >&2
fi
exit $status
