#!/usr/bin/env bash
# Run the whole suite on SQLite (the embedded default), then on PostgreSQL with Redis.
# The pytest session itself starts a throwaway PostgreSQL and Redis (tests/servers.py).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
WORKERS=${TEST_WORKERS:-2}
# worksteal: each worker starts on its half of the tests in their order (a module's tests
# stay together, so a module's app and data are built on one worker), and a worker that
# runs out takes half of what the other has left, so the pass does not wait at its end
# for one worker's queue. The data sets many tests share are built once per pass
# (tests/conftest.py, Scenarios).
XDIST="-n $WORKERS --dist worksteal"
# The workers, the commands and the servers the tests start import the same modules: they
# share compiled bytecode (__pycache__, git-ignored) even where the environment turns it
# off, which cut the collection's CPU by two thirds (17 s -> 6 s per worker).
unset PYTHONDONTWRITEBYTECODE

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
