#!/usr/bin/env bash
# The portal's gettext catalogs (src/wattwallet/web/locale): extract every string from the Python and
# the templates, update the English and Telugu .po files, compile the .mo files (committed, so a fresh
# clone serves both languages with no build step; tests/web/test_catalogs.py checks they are current).
#   scripts/portal-catalogs.sh            extract + update + compile
#   scripts/portal-catalogs.sh compile    compile only (after editing translations)
set -euo pipefail
cd "$(dirname "$0")/../src/wattwallet/web"
if [ "${1:-}" != compile ]; then
  pybabel -q extract -F babel.cfg --no-location --sort-output --project WattWallet -o locale/messages.pot .
  for lang in en te; do
    if [ -f "locale/$lang/LC_MESSAGES/messages.po" ]; then
      pybabel -q update -i locale/messages.pot -d locale -l "$lang" --no-fuzzy-matching --ignore-obsolete
    else
      pybabel -q init -i locale/messages.pot -d locale -l "$lang"
    fi
  done
fi
pybabel -q compile -d locale --statistics
