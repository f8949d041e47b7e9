#!/usr/bin/env bash
# Run the whole suite on SQLite (the embedded default) and on PostgreSQL with Redis.
# The pytest sessions themselves start a throwaway PostgreSQL and Redis (tests/servers.py).
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
# The catalogs once, before the passes (each session leaves up-to-date ones alone).
"$BIN/pybabel" -q compile -d erp/translations || exit 1

# The two passes run one after the other; TEST_PASSES_TOGETHER=1 runs them side by side
# (no faster on a quiet 2-core machine: both about 12.6 min, four workers and two servers
# contending for the two cores). The PostgreSQL pass's output is
# kept in a file and shown after the SQLite pass's.
# The PostgreSQL pass runs only the tests whose outcome can depend on the database or
# Redis; the others are deselected (the rule: tests/conftest.py, DIALECT_DEPENDENT, and
# the README's testing part).
status=0
together=${TEST_PASSES_TOGETHER:-0}
postgresql_pass() {
  local start=$SECONDS code=0
  TEST_DB=postgresql "$BIN/pytest" $XDIST ${PYTEST_ARGS:-} || code=1
  echo "== PostgreSQL pass: $((SECONDS - start)) s"
  return $code
}
if [ "$together" = 1 ]; then
  log=$(mktemp "${TMPDIR:-/tmp}/erp-postgresql-pass.XXXXXX")
  # in a process group of its own (job control), where Ctrl-C is not ignored as it is for a
  # background job: passed on to it, its pytest stops its workers and servers itself
  set -m
  postgresql_pass > "$log" 2>&1 &
  postgresql=$!
  set +m
  trap 'kill -INT -- -$postgresql 2>/dev/null; wait $postgresql; cat "$log"; exit 130' INT TERM
fi
echo "== Test suite on SQLite (every test)"
start=$SECONDS
TEST_DB=sqlite "$BIN/pytest" $XDIST ${PYTEST_ARGS:-} || status=1
echo "== SQLite pass: $((SECONDS - start)) s"
echo "== Test suite on PostgreSQL with Redis (the tests that can depend on them)"
if [ "$together" = 1 ]; then
  wait $postgresql || status=1
  cat "$log"
  rm -f "$log"
else
  postgresql_pass || status=1
fi
if [ $status -ne 0 ]; then
  echo "FAILED: see the output above." >&2
fi
exit $status
