#!/usr/bin/env bash
# Before the first release only: rebuild migrations/versions/0001_initial.py from the
# models. Once a database in the field has been migrated, add new migrations instead
# (flask --app wsgi db migrate -m "...").
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/gen.sqlite3" .venv/bin/flask --app wsgi db migrate \
  -m "initial schema" --rev-id 0001_initial >/dev/null
rm -rf "$tmp"
ls migrations/versions/
