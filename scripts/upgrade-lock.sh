#!/usr/bin/env bash
# A deliberate upgrade: re-resolves requirements.lock to the newest versions pyproject.toml allows
# (with hashes), installs it, and runs the whole test suite. Review `git diff requirements.lock`
# and commit the lock only when the tests pass.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q uv
python3 -m uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
  --upgrade --quiet -o requirements.lock
exec ./test.sh "$@"
