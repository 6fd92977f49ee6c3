#!/usr/bin/env bash
# The main job, on an embedded SQLite database with demo data; no other server needed.
# Replays the bundled example scenarios, then builds a demo store under var/ and shows it.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh

for scenario in examples/scenarios/*.yaml; do
  echo
  echo "== scenario ${scenario}"
  sed -n '/^[a-z]/q;s/^# \{0,1\}//p' "$scenario"   # what it shows: the comment at its top
  wattwallet scenario run --compliance "$scenario"
done

mkdir -p var
rm -f var/demo.db var/demo.db-wal var/demo.db-shm
export WATTWALLET_DATABASE_URL="sqlite:///$PWD/var/demo.db"
echo "== demo store at var/demo.db"
wattwallet db upgrade
wattwallet connection add 1234567890123 --name "Lakshmi Devi" --category LT-I --load-kw 2 \
  --mobile "+91 98765 43210" --meter SM-AP-000123 --language te --arrears 250
wattwallet connection add 2234567890001 --name "Sri Venkateswara Stores" --category LT-II --load-kw 12 \
  --mobile 9848012345 --meter SM-AP-000456
wattwallet recharge 1234567890123 500 --channel portal --ref PG-DEMO-1
wattwallet recharge 1234567890123 500 --channel portal --ref PG-DEMO-1   # a retried payment: one recharge
wattwallet recharge 2234567890001 500 --channel counter --ref SC-DEMO-1 || true  # below ₹900: refused
wattwallet recharge 2234567890001 1000 --channel counter --ref SC-DEMO-2
wattwallet wallet 1234567890123
wattwallet wallet 2234567890001
wattwallet ledger verify
wattwallet jobs run                 # one worker tick at the real time: whatever is due now
wattwallet disconnections queue
wattwallet report compliance --from "$(date +%Y-%m-01)" --to "$(date +%Y-%m-%d)"
echo "Demo ready. Try: WATTWALLET_DATABASE_URL=$WATTWALLET_DATABASE_URL .venv/bin/wattwallet --help"
