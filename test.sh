#!/usr/bin/env bash
# The test command: lint, format, types, layer contracts, then every test on SQLite and, where it
# is reachable (always under CI=true), PostgreSQL at 127.0.0.1:5432. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh

echo "== ruff"; ruff check src tests bench; ruff format --check src tests bench
echo "== mypy"; mypy
echo "== import-linter"; lint-imports --no-cache
echo "== pytest"; pytest -n 2 "$@"
