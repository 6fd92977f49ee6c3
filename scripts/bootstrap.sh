#!/usr/bin/env bash
# Creates .venv and installs WattWallet with its dev tools, once per change of pyproject.toml.
# Sourced by run.sh and test.sh so that a fresh machine needs nothing but these scripts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "WattWallet needs Python 3.11 or newer as '$python' (set PYTHON=...)." >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "Installing python3-venv with apt-get..." >&2
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi

stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Setting up $venv (first run or pyproject.toml changed)..." >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -e "$root[dev]"
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
