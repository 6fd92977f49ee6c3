#!/usr/bin/env bash
# The main job, on an embedded SQLite database with demo data; no other server needed.
# Replays the bundled example scenarios, builds a demo store under var/, then runs the HTTP API on it
# (`wattwallet serve`, http://127.0.0.1:8000/api/v1/docs), walks through it once, and keeps serving
# until Ctrl-C. `./run.sh --no-serve` stops after the walk-through. PORT=8001 ./run.sh picks a port.
set -euo pipefail
serve=yes
[ "${1:-}" = "--no-serve" ] && serve=no
port="${PORT:-8000}"
cd "$(dirname "$0")"
source scripts/bootstrap.sh

for scenario in examples/scenarios/*.yaml; do
  echo
  echo "== scenario ${scenario}"
  sed -n '/^[a-z]/q;s/^# \{0,1\}//p' "$scenario"   # what it shows: the comment at its top
  wattwallet scenario run --compliance "$scenario"
done

mkdir -p var
echo
echo "== a simulated DISCOM: 200 consumers for 10 days (wattwallet demo)"
rm -f var/demo-simulation.db*
wattwallet demo --meters 200 --days 10 --database "var/demo-simulation.db"

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
wattwallet recharge 2234567890001 500 --channel counter --executive demo.counter --ref SC-DEMO-1 || true  # below the first-recharge minimum: refused
wattwallet recharge 2234567890001 1000 --channel counter --executive demo.counter --ref SC-DEMO-2
wattwallet wallet 1234567890123
wattwallet wallet 2234567890001
# A postpaid consumer on the same kind of meter (DOMAIN.md §8): arrears brought over, a counter
# payment, the deposit held; and the prepaid consumer asking to switch to postpaid from tomorrow.
wattwallet connection add 3234567890002 --name "Ravi Kumar" --category LT-I --load-kw 3 --mode postpaid \
  --mobile 9849098490 --meter SM-AP-000789 --arrears 480
wattwallet pay 3234567890002 200 --channel counter --ref PP-DEMO-1
wattwallet deposit set 3234567890002 1500 --by demo.billing
wattwallet postpaid account 3234567890002
wattwallet mode switch 1234567890123 --to postpaid --by demo.helpline
wattwallet ledger verify
wattwallet jobs run                 # one worker tick at the real time: whatever is due now
wattwallet disconnections queue
wattwallet report compliance --from "$(date +%Y-%m-01)" --to "$(date +%Y-%m-%d)"

echo "== the HTTP API on the demo store"
# Demo-only credentials, made fresh each run and kept under var/ (never in the repository).
secret() { python -c 'import secrets; print(secrets.token_urlsafe(24))'; }
staff_password="$(secret)"
export WATTWALLET_API__GATEWAY_WEBHOOK_SECRET="$(secret)"
DEMO_PASSWORD="$staff_password" wattwallet staff add demo.admin --role admin --name "Demo Admin" \
  --password-env DEMO_PASSWORD
agent_key="$(wattwallet agent add --name "Sri Sai Kirana Stores" --kind retail --daily-limit-rupees 50000 \
  2>/dev/null | sed -n 's/^api key: //p')"
umask 077
cat > var/demo-credentials.json <<JSON
{"staff_username": "demo.admin", "staff_password": "$staff_password",
 "agent_key": "$agent_key", "gateway_webhook_secret": "$WATTWALLET_API__GATEWAY_WEBHOOK_SECRET"}
JSON
umask 022

# Messages leave through the outbox to a stand-in SMS/WhatsApp/push gateway over HTTP (a real
# deployment sets WATTWALLET_DELIVERY__SMS__BASE_URL etc. to the DISCOM's gateways instead).
python -m wattwallet.messaging.fake_gateway --port "$((port + 1))" > var/fake-gateway.log &
gateway_pid=$!
trap 'kill $gateway_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q '^export' var/fake-gateway.log 2>/dev/null && break; sleep 0.1; done
eval "$(grep '^export' var/fake-gateway.log)"
gateway="http://127.0.0.1:$((port + 1))"

# The stand-in payment gateway's checkout page: the portal sends the browser there, and its "Pay"
# button calls the real signed webhook before sending the browser back.
python -m wattwallet.messaging.fake_checkout --port "$((port + 2))" --portal "http://127.0.0.1:$port" \
  > var/fake-checkout.log &
checkout_pid=$!
trap 'kill $gateway_pid $checkout_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q '^export' var/fake-checkout.log 2>/dev/null && break; sleep 0.1; done
eval "$(grep '^export' var/fake-checkout.log)"

wattwallet serve --port "$port" --log-level warning &
server=$!
trap 'kill $server $gateway_pid $checkout_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/api/v1/openapi.json" >/dev/null && break
  kill -0 $server 2>/dev/null || { echo "wattwallet serve did not start" >&2; exit 1; }
  sleep 0.2
done
python examples/api_tour.py --base "http://127.0.0.1:$port" --var var --gateway "$gateway"
sleep 2   # the dispatcher's next round
echo "== what reached the gateway (SMS, WhatsApp, app push):"
curl -s "$gateway/_received" | python -c '
import collections, json, sys
got = json.load(sys.stdin)["received"]
print(dict(collections.Counter(r["channel"] for r in got)))
for r in got[-3:]:
    print(" ", r["channel"], json.dumps(r["body"], ensure_ascii=False)[:160])
'
wattwallet ledger verify

echo
echo "== monthly e-bills: 30 simulated consumers live 15 May - 13 June 2025; the job of 1 June 07:00 bills May"
rm -f var/demo-bills.db*
wattwallet demo --meters 30 --days 30 --start 2025-05-15 --database var/demo-bills.db --json-only > var/demo-bills.json
bill_db="sqlite:///$PWD/var/demo-bills.db"
bill_no="$(python -c '
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute(
    "SELECT service_no FROM bills WHERE month = ? AND language = ? ORDER BY amount DESC LIMIT 1", ("2025-05-01", "te")
).fetchone()
print(row[0] if row else "")
' var/demo-bills.db)"
if [ -z "$bill_no" ]; then echo "no bill of May 2025 in var/demo-bills.db" >&2; exit 1; fi
WATTWALLET_DATABASE_URL="$bill_db" wattwallet bills show "$bill_no" --month 2025-05
for language in en te; do
  WATTWALLET_DATABASE_URL="$bill_db" wattwallet bills pdf "$bill_no" --month 2025-05 --language "$language" \
    -o "var/bill-$bill_no-2025-05-$language.pdf"
done
echo "E-bill PDFs of a demo consumer: var/bill-$bill_no-2025-05-en.pdf and var/bill-$bill_no-2025-05-te.pdf"

echo
echo "Demo ready. Database: var/demo.db; demo sign-ins: var/demo-credentials.json; texts sent: $gateway/_received"
echo "CLI: WATTWALLET_DATABASE_URL=$WATTWALLET_DATABASE_URL .venv/bin/wattwallet --help"
echo
echo "== the consumer portal"
echo "Portal: http://127.0.0.1:$port/   (English and Telugu; installable as an app)"
echo "Demo customer ID: 1234567890123 (Lakshmi Devi, Telugu), 2234567890001 (English) or 3234567890002 (postpaid)"
echo "The OTP arrives as an SMS at the stand-in gateway: open $gateway/_received and read the newest sign-in"
echo "  text (6-digit OTP) to +919876543210 (or +919848012345, +919849098490). Payments go through $WATTWALLET_WEB_CHECKOUT_URL."
if [ "$serve" = yes ]; then
  echo "API: http://127.0.0.1:$port/api/v1/docs (Ctrl-C stops it)"
  wait $server
fi
