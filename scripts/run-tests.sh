#!/usr/bin/env bash
# Run the whole suite on SQLite (the embedded default), then on PostgreSQL with Redis.
# The pytest session itself starts a throwaway PostgreSQL and Redis (tests/servers.py).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
WORKERS=${TEST_WORKERS:-2}
# Each worker builds the shared scenarios (the demo data...) once. `--dist loadgroup` would
# put their tests on one worker, but xdist 3.8 cannot rename pytest 9's node ids, so it
# does nothing here.
XDIST="-n $WORKERS"

status=0
echo "== Test suite on SQLite (every test)"
start=$SECONDS
TEST_DB=sqlite "$BIN/pytest" $XDIST ${PYTEST_ARGS:-} || status=1
echo "== SQLite pass: $((SECONDS - start)) s"
# Only the tests whose outcome can depend on the database or Redis; the others are
# deselected (the rule: tests/conftest.py, DIALECT_DEPENDENT, and the README's testing part).
echo "== Test suite on PostgreSQL with Redis (the tests that can depend on them)"
start=$SECONDS
TEST_DB=postgresql "$BIN/pytest" $XDIST ${PYTEST_ARGS:-} || status=1
echo "== PostgreSQL pass: $((SECONDS - start)) s"
if [ $status -ne 0 ]; then
  echo "FAILED: see the output above." >&2
fi
exit $status
