#!/usr/bin/env bash
# Creates .venv and installs exactly requirements.lock (every version pinned, every file hash-checked),
# then WattWallet itself without dependencies. Runs again only when the lock or pyproject.toml changes.
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

# The portal's browser tests drive Debian's chromium (never `playwright install`, which downloads a
# browser); fonts-noto-core gives it Telugu glyphs for the screenshots. Installed only when missing.
if ! command -v chromium >/dev/null 2>&1 || [ ! -f /usr/share/fonts/truetype/noto/NotoSansTelugu-Regular.ttf ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium and fonts-noto-core with apt-get (browser tests of the portal)..." >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core; } >/dev/null
  else
    echo "chromium is missing: the portal's browser tests will be skipped (CI=true fails them)." >&2
  fi
fi

# axe-core for the portal's accessibility test (injected into pages by Playwright), pinned by
# tests/web/package-lock.json.
if [ ! -f "$root/tests/web/node_modules/axe-core/axe.min.js" ] && command -v npm >/dev/null 2>&1; then
  echo "Installing axe-core (npm ci, tests/web) for the accessibility test..." >&2
  npm ci --prefix "$root/tests/web" --no-audit --no-fund --silent >/dev/null 2>&1 \
    || echo "npm ci failed: the accessibility test will be skipped (CI=true fails it)." >&2
fi

# Bill PDFs (WeasyPrint): Pango and HarfBuzz's subsetter; pdftoppm (poppler-utils) turns test PDFs into
# images a reviewer can look at. The fonts themselves ship inside the package (billing/fonts).
pdf_packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils)
missing=()
for package in "${pdf_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]} with apt-get (PDF rendering)..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp="$venv/.installed-$(cat "$root/requirements.lock" "$root/pyproject.toml" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Setting up $venv from requirements.lock (first run, or the lock or pyproject.toml changed)..." >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  # --require-hashes: a file whose hash differs from the lock is refused, so every machine gets the same set.
  # (The grep drops this machine's notes about local wheel folders; pip's own errors still show.)
  { "$venv/bin/python" -m pip install -q --require-hashes --no-deps -r "$root/requirements.lock" 2>&1 1>&3 \
      | { grep -v 'is ignored: it is neither a file nor a directory' >&2 || true; }; } 3>&1
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$root"
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
