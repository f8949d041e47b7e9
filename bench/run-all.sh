#!/bin/sh
# The runs committed in bench/results: sizes s, m and l on SQLite and on PostgreSQL + Redis.
set -e
cd "$(dirname "$0")/.."
for db in sqlite postgresql; do
  for size in s m l; do
    BENCH_SIZE=$size BENCH_DB=$db .venv/bin/python bench/run.py
  done
done
