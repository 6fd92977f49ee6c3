"""The tables. Money columns are BIGINT paise; instants are UTC; periods are [from, to).

Alembic migrations (store/migrations) create these; this module is what the code queries.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

from wattwallet.store.types import BigId, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

connections = Table(
    "connections",
    metadata,
    Column("service_no", String(20), primary_key=True),
    Column("consumer_id", BigId, ForeignKey("consumers.id"), nullable=False, index=True),
    Column("category", String(16), nullable=False),
    Column("sanctioned_load_w", Integer, nullable=False),
    Column("billing_mode", String(8), nullable=False),
    Column("mobile", String(16), nullable=False, index=True),
    Column("language", String(2), nullable=False),
    Column("state", String(12), nullable=False),
    Column("first_recharge_done", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("billing_mode IN ('prepaid', 'postpaid')", name="billing_mode"),
    CheckConstraint("state IN ('active', 'disconnected', 'terminated')", name="state"),
    CheckConstraint("language IN ('en', 'te')", name="language"),
    CheckConstraint("sanctioned_load_w > 0", name="load_positive"),
)

meters = Table(
    "meters",
    metadata,
    Column("serial", String(32), primary_key=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, unique=True),
    Column("relay", String(8), nullable=False),
    Column("commissioned_register_wh", BigInteger, nullable=False),
    Column("installed_at", UTCDateTime, nullable=False),
    CheckConstraint("relay IN ('closed', 'open')", name="relay"),
)

# Double-entry ledger. Line amounts are signed paise, debit positive; every posting's lines sum
# to zero, so all accounts together sum to zero. `balance` is kept only on a connection's own
# accounts (wallet, dues): they are the hot reads; DISCOM-side balances are summed on demand so
# that concurrent recharges never queue on one revenue or clearing row.
ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("normal_side", String(6), nullable=False),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=True, index=True),
    Column("balance", BigInteger, nullable=True),
    # The wallet row also heads the connection's posting chain: its lock serialises the
    # connection's money, and (chain_seq, chain_digest) make any edited or removed posting show.
    Column("chain_seq", Integer, nullable=True),
    Column("chain_digest", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("normal_side IN ('debit', 'credit')", name="normal_side"),
    # Room on each page for the nightly new version of its wallet rows (HOT updates; 0009).
    postgresql_with={"fillfactor": 60},
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reference", String(80), nullable=True),
    Column("memo", Text, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("prev_digest", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    # How many lines the posting has: its lines are written first and the database checks, when the
    # posting row comes, that they number this and sum to zero (migration 0015). None only on
    # postings written before that check existed.
    Column("line_count", SmallInteger, nullable=True),
    UniqueConstraint("service_no", "seq"),
)

# The hottest table: the daily cycle writes five lines a connection a day. It carries no foreign
# keys (their per-row checks cost a third of the cycle on PostgreSQL); lines are written only by
# ledger.postings.post_many, which checks them; the database refuses unbalanced postings and any
# change or deletion, and
# `ledger verify` reports any line whose posting or account does not exist. An account's lines are
# reached through its connection's postings (service_no, seq), so no index on account_code either.
ledger_lines = Table(
    "ledger_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("posting_id", BigId, nullable=False, index=True),
    Column("account_code", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount <> 0", name="amount_nonzero"),
)

recharges = Table(
    "recharges",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("to_dues", BigInteger, nullable=False),
    Column("to_wallet", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("dues_after", BigInteger, nullable=False),
    Column("first_recharge", Boolean, nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("posting_id", BigId, ForeignKey("ledger_postings.id"), nullable=False),
    UniqueConstraint("channel", "reference"),
    CheckConstraint("amount > 0 AND to_dues >= 0 AND to_wallet >= 0", name="amounts"),
    CheckConstraint("to_dues + to_wallet = amount", name="split_adds_up"),
)


# --- The prepaid lifecycle (readings, rating, alerts, disconnection, short bills, termination) ---

# Non-working days (and staff overrides that make a usual holiday a working day). A day with no
# row is a working day. Seeded per year from the `holidays` package; staff correct it.
calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("working", Boolean, nullable=False),
    Column("reason", String(120), nullable=False),
    Column("source", String(16), nullable=False),  # official | circular | computed | staff
    Column("updated_by", String(64), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("reference", String(240), nullable=True),  # the G.O., circular or order it rests on
    Column("confirmed", Boolean, nullable=False, server_default=true()),
    Column("reason_te", String(120), nullable=True),
)

# What each year of the calendar rests on: the shipped G.O. list (official), a DISCOM's imported
# circular, or the computed fallback (not confirmed); `digest` tells a seeded year from one seeded
# with other defaults (an older list), which is then re-seeded.
calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("basis", String(16), nullable=False),  # official | circular | computed
    Column("reference", String(240), nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("updated_by", String(64), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Every change of the calendar: who, when, what (seed, import, set, move) and on what authority.
calendar_audit = Table(
    "calendar_audit",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("year", Integer, nullable=False, index=True),
    Column("reference", String(240), nullable=False),
    Column("detail", Text, nullable=False),
)

# Cumulative register readings as the HES reports them. A reading's IST date is its billing
# boundary: the register at the start of that day.
meter_readings = Table(
    "meter_readings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("meter_serial", String(32), ForeignKey("meters.serial"), nullable=False),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
    Column("read_date", Date, nullable=False),
    Column("register_wh", BigInteger, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("meter_serial", "read_at"),
    Index("ix_meter_readings_service_no_read_at", "service_no", "read_at"),
    CheckConstraint("register_wh >= 0", name="register_non_negative"),
)

# Where each prepaid connection stands: how far it is billed, its month-to-date units, its
# average daily consumption (ADC), which alerts went out, its emergency credit. One row each, so
# that the daily cycle reads and writes whole batches of connections in a few statements.
prepaid_state = Table(
    "prepaid_state",
    metadata,
    Column("service_no", String(20), ForeignKey("connections.service_no"), primary_key=True),
    Column("billed_through", Date, nullable=False),  # register known at the start of this day
    Column("billed_register_wh", BigInteger, nullable=False),
    # The newest reading, kept here at ingestion so the cycle never scans the readings table.
    Column("last_read_at", UTCDateTime, nullable=True),
    Column("last_read_date", Date, nullable=False),
    Column("last_register_wh", BigInteger, nullable=False),
    Column("month_start", Date, nullable=False),
    Column("month_first_day", Date, nullable=False),  # first billed day of this month (pro rata)
    Column("mtd_wh", BigInteger, nullable=False),
    # The month's Time-of-Day peak and off-peak Wh so far (migration 0010; 0 without ToD).
    Column("mtd_peak_wh", BigInteger, nullable=False, server_default="0"),
    Column("mtd_off_peak_wh", BigInteger, nullable=False, server_default="0"),
    Column("recent_daily_paise", Text, nullable=False),  # last ADC-window daily totals, oldest first
    Column("adc_paise", BigInteger, nullable=False),
    Column("alerts_sent", Integer, nullable=False),  # bit per alert level, cleared when re-armed
    Column("zero_alert_at", UTCDateTime, nullable=True),
    Column("emergency_credit_paise", BigInteger, nullable=False),
    Column("disconnect_due_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # The last postpaid_charges row a postpaid bill or a switch to prepaid took (migration 0019).
    Column("postpaid_taken_id", BigInteger, nullable=False, server_default="0"),
    # Room on each page for the nightly new version of every row (HOT updates; migration 0009).
    postgresql_with={"fillfactor": 50},
)

daily_deductions = Table(
    "daily_deductions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False),
    Column("day", Date, nullable=False),
    Column("wh", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("items", Text, nullable=False),  # JSON [[component, paise], ...]
    Column("posting_id", BigId, ForeignKey("ledger_postings.id"), nullable=True),  # none for ₹0
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("service_no", "day"),
)

# Consumption not deducted because it looks wrong (register backwards, implausibly high):
# staff release or dismiss it; while open it never leads to a disconnection.
held_consumption = Table(
    "held_consumption",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("meter_serial", String(32), nullable=False),
    Column("kind", String(24), nullable=False),  # register_backwards | implausible
    Column("from_date", Date, nullable=False),
    Column("to_date", Date, nullable=False),
    Column("from_register_wh", BigInteger, nullable=False),
    Column("to_register_wh", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # open | released | dismissed
    Column("created_at", UTCDateTime, nullable=False),
    Column("reviewed_at", UTCDateTime, nullable=True),
    Column("reviewed_by", String(64), nullable=True),
    Column("note", Text, nullable=True),
    CheckConstraint("status IN ('open', 'released', 'dismissed')", name="status"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("threshold", BigInteger, nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
)

# Every message to a consumer, rendered in their language. Delivery comes later (an outbox);
# until then a row here is the record that the message was due and what it said.
notifications = Table(
    "notifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("language", String(2), nullable=False),
    Column("channels", String(40), nullable=False),
    Column("recipient", String(16), nullable=True),  # None: the registered mobile when delivered
    Column("text", Text, nullable=False),  # app push, WhatsApp, portal
    Column("sms_text", Text, nullable=True),  # the DLT-registered SMS (None before migration 0010: text)
    Column("status", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

hes_commands = Table(
    "hes_commands",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("meter_serial", String(32), nullable=False),
    Column("command", String(12), nullable=False),  # disconnect | reconnect
    Column("status", String(12), nullable=False),  # pending | sent | confirmed | failed | cancelled
    Column("reason", String(40), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Column("paid_at", UTCDateTime, nullable=True),  # reconnects: when the payer paid
    Column("last_error", Text, nullable=True),
    Index("ix_hes_commands_status_next_attempt_at", "status", "next_attempt_at"),
    CheckConstraint(
        "status IN ('pending', 'sent', 'confirmed', 'failed', 'cancelled', 'superseded')", name="status"
    ),
)

connection_events = Table(
    "connection_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("from_state", String(12), nullable=False),
    Column("to_state", String(12), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("reason", String(60), nullable=False),
    Column("command_id", String(40), nullable=True),
)

complaints = Table(
    "complaints",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ref", String(64), nullable=False, unique=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("source", String(12), nullable=False),  # consumer | helpline | auto
    Column("opened_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolution", String(20), nullable=True),  # relay_closed | staff
    Column("resolved_by", String(64), nullable=True),
    Column("note", Text, nullable=True),  # the opener's words (consumer, helpline)
    Column("resolution_note", Text, nullable=True),  # what staff did
)

short_bills = Table(
    "short_bills",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ref", String(64), nullable=False, unique=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("raised_on", Date, nullable=False),
    Column("status", String(12), nullable=False),  # domain.short_bill.Status: open | deducted | settled
    Column("reminders_sent", Integer, nullable=False),
    Column("deducted_at", UTCDateTime, nullable=True),
    Column("posting_id", BigId, ForeignKey("ledger_postings.id"), nullable=True),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("status IN ('open', 'deducted', 'settled')", name="status"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

terminations = Table(
    "terminations",
    metadata,
    Column("service_no", String(20), ForeignKey("connections.service_no"), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("final_balance", BigInteger, nullable=False),
    Column("arrears", BigInteger, nullable=False),
    Column("refund", BigInteger, nullable=False),
)


# Every change of a registered mobile number: who, when, through what, on what reference (§7).
mobile_changes = Table(
    "mobile_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("old_mobile", String(16), nullable=False),
    Column("new_mobile", String(16), nullable=False),
    Column("via", String(16), nullable=False),  # app | website | helpline | service_centre
    Column("reference", String(64), nullable=True),  # the call or counter reference (staff changes)
    Column("changed_by", String(64), nullable=True),  # the staff member, for helpline / service centre
    Column("changed_at", UTCDateTime, nullable=False),
)


# --- The HTTP API (issue 4): sign-in, staff, agents, payment intents -----------------------------

# One-time passwords, stored as a salted hash; `recipient` is the number it went to.
otps = Table(
    "otps",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("purpose", String(16), nullable=False),  # sign_in | mobile_change
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False),
    Column("recipient", String(16), nullable=False),
    Column("via", String(16), nullable=True),  # mobile_change: app | website
    Column("salt", String(32), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("tries", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index("ix_otps_service_no_created_at", "service_no", "created_at"),
    Index("ix_otps_recipient_created_at", "recipient", "created_at"),
)

# OTPs asked for (issue 17): every request is queued here, known customer ID or not, so the answer
# costs the same either way; the dispatcher's OTP courier issues and sends them after the answer.
# `caller` is the client address; `recipient` is filled in when the courier resolves the number.
otp_requests = Table(
    "otp_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("purpose", String(16), nullable=False),  # sign_in | mobile_change
    Column("service_no", String(32), nullable=False),  # as asked: may name no connection
    Column("recipient", String(16), nullable=True),
    Column("via", String(16), nullable=True),  # mobile_change: app | website
    Column("caller", String(64), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    # pending | sent | failed (gateway refused) | unknown | held_back (a limit) | stale
    Column("status", String(12), nullable=False),
    Column("handled_at", UTCDateTime, nullable=True),
    Column("otp_id", BigInteger, nullable=True),  # the OTP sent
    Index("ix_otp_requests_caller_requested_at", "caller", "requested_at"),
    Index("ix_otp_requests_recipient_handled_at", "recipient", "handled_at"),
    Index("ix_otp_requests_status_id", "status", "id"),
    CheckConstraint(
        "status IN ('pending', 'sent', 'failed', 'unknown', 'held_back', 'stale')", name="status"
    ),
)

# Wrong OTPs and wrong staff passwords, by subject (customer ID or username) and caller: the
# per-day caps on OTP guesses and the (username, caller) staff lock-out count these.
auth_failures = Table(
    "auth_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),  # otp | staff
    Column("subject", String(64), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_auth_failures_kind_subject_at", "kind", "subject", "at"),
    Index("ix_auth_failures_kind_caller_at", "kind", "caller", "at"),
)

# What staff are told about attacks on sign-in (e.g. a connection's daily OTP guesses used up).
security_alerts = Table(
    "security_alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("service_no", String(32), nullable=True),
    Column("caller", String(64), nullable=True),
    Column("detail", Text, nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Index("ix_security_alerts_raised_at", "raised_at"),
)

# Bearer tokens for consumers and staff; only the SHA-256 of a token is kept.
api_sessions = Table(
    "api_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),  # consumer | staff
    Column("subject", String(64), nullable=False),  # consumer: the mobile; staff: the username
    Column("service_no", String(20), nullable=True),  # consumer: the connection signed in with
    Column("role", String(16), nullable=True),  # staff
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

staff_users = Table(
    "staff_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("role", String(16), nullable=False),  # admin | billing | helpline | service_centre | field
    Column("password_hash", String(200), nullable=False),  # argon2id
    Column("active", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Retail outlets and kiosks that take cash recharges.
agents = Table(
    "agents",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(8), nullable=False),  # retail | kiosk
    Column("daily_limit_paise", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

agent_keys = Table(
    "agent_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),  # SHA-256 of the key (keys are 256-bit random)
    Column("agent_id", String(16), ForeignKey("agents.id"), nullable=False, index=True),
    Column("prefix", String(16), nullable=False),  # shown to staff to tell keys apart
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# What each agent has collected on an IST day, checked against its limit in the recharge's transaction.
agent_daily_totals = Table(
    "agent_daily_totals",
    metadata,
    Column("agent_id", String(16), ForeignKey("agents.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("amount", BigInteger, nullable=False),
)

# Portal and app recharges: an intent the payment gateway later confirms by webhook.
payment_intents = Table(
    "payment_intents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("channel", String(8), nullable=False),  # portal | app
    Column("amount", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # created | succeeded | failed
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("gateway_payment_id", String(64), nullable=True),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("receipt_no", String(24), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("status IN ('created', 'succeeded', 'failed')", name="status"),
)

# Every webhook event taken, so a replayed or repeated event is answered, not applied twice.
gateway_events = Table(
    "gateway_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("intent_id", String(40), nullable=False),
    Column("type", String(32), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("outcome", Text, nullable=False),  # JSON: what was answered
)


# --- The MQTT head-end link (issue 5; migration 0005) -----------------------------------------

# Every reading message the link stored, one row per message (and so per meter and reading time):
# its msg_id makes a redelivered message a no-op, and it keeps the 24 hours of half-hourly import
# before `ends_at` as 48 comma-separated Wh values when the HES sent them (NULL when it did not).
# No foreign keys and no surrogate id: written in bulk at thousands of rows a second (see ledger_lines).
meter_load_profiles = Table(
    "meter_load_profiles",
    metadata,
    Column("msg_id", String(64), primary_key=True),
    Column("meter_serial", String(32), nullable=False),
    Column("service_no", String(20), nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),  # the reading's time
    Column("read_date", Date, nullable=False),  # its IST date, as meter_readings.read_date
    Column("profile_wh", Text, nullable=True),
    Column("total_wh", BigInteger, nullable=True),  # the profile's sum
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("meter_serial", "ends_at"),
)

# What the link could not take, and why (malformed, unknown meter or command, a reading the register
# rules refused): nothing the HES sends is dropped without a trace. Payloads are cut at 2,000 chars.
hes_rejects = Table(
    "hes_rejects",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime, nullable=False, index=True),
    Column("topic", String(200), nullable=False),
    Column("kind", String(12), nullable=False),  # reading | ack | relay | other
    Column("msg_id", String(64), nullable=True, index=True),
    Column("meter_serial", String(32), nullable=True),
    Column("reason", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("payload", Text, nullable=False),
)

# Acknowledgements from the HES, as received (a repeat of the same command, status and time is
# not stored twice). `outcome` is what it did on arrival: applied, late (the command was already
# settled, superseded or cancelled) or recorded (accepted: the HES has it, nothing changes).
hes_acks = Table(
    "hes_acks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("command_id", String(40), nullable=False),
    Column("meter_serial", String(32), nullable=False),
    Column("status", String(10), nullable=False),  # accepted | executed | failed
    Column("relay", String(8), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", Text, nullable=True),
    Column("outcome", String(12), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("command_id", "status", "at"),
    CheckConstraint("status IN ('accepted', 'executed', 'failed')", name="status"),
)

# The newest relay position each meter reported, so that an older report arriving late is not
# taken for the current one.
meter_relay_reports = Table(
    "meter_relay_reports",
    metadata,
    Column("meter_serial", String(32), primary_key=True),
    Column("relay", String(8), nullable=False),
    Column("cause", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

# A relay the HES reported in the position our state contradicts (closed while disconnected for
# non-payment, open while active), for staff, with what was done about it. Resolved when the meter
# later reports the position we expect.
relay_mismatches = Table(
    "relay_mismatches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("meter_serial", String(32), nullable=False),
    Column("reported_relay", String(8), nullable=False),
    Column("expected_relay", String(8), nullable=False),
    Column("connection_state", String(12), nullable=False),
    Column("cause", String(16), nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("action", String(24), nullable=False),  # reconnect_issued | back_to_window | staff
    Column("command_id", String(40), nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolution", String(24), nullable=True),
)


# --- Message delivery: outbox deliveries, channel opt-ins (issue 5; migration 0006) -----------

# One row per (notification, channel) that is to be sent: written in the transaction that records
# the notification, so a message is delivered if and only if its cause committed. `next_attempt_at`
# is when a dispatcher may (re)claim the row: the due time while pending or failed, the end of the
# claim's lease while sending (a worker that died leaves it to be retried), NULL once sent or dead.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("notification_id", BigId, ForeignKey("notifications.id"), nullable=False),
    Column("channel", String(12), nullable=False),  # sms | whatsapp | app
    Column("status", String(8), nullable=False),  # pending | sending | sent | failed | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("address", String(20), nullable=True),  # where the last attempt went: E.164, or the app id
    Column("segments", Integer, nullable=True),  # SMS: parts the text takes
    Column("encoding", String(8), nullable=True),  # SMS: GSM-7 | UCS-2
    Column("provider_message_id", String(128), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("retried_by", String(64), nullable=True),  # the staff member who last sent a dead one back
    UniqueConstraint("notification_id", "channel"),
    CheckConstraint("channel IN ('sms', 'whatsapp', 'app')", name="channel"),
    CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'dead')", name="status"),
    CheckConstraint("attempts >= 0", name="attempts_non_negative"),
)
# Partial indexes: only rows still to be (re)tried, and the dead letters staff look at. Sent rows,
# nearly all of them, cost nothing in either.
_due = deliveries.c.next_attempt_at.is_not(None)
Index("ix_deliveries_due", deliveries.c.next_attempt_at, postgresql_where=_due, sqlite_where=_due)
_dead = deliveries.c.status == "dead"
Index("ix_deliveries_dead", deliveries.c.updated_at, postgresql_where=_dead, sqlite_where=_dead)

# A consumer's choice of channels for a connection; no row means the default (SMS and app on,
# WhatsApp off until opted in). SMS cannot be switched off (services.preferences says why).
channel_preferences = Table(
    "channel_preferences",
    metadata,
    Column("service_no", String(20), ForeignKey("connections.service_no"), primary_key=True),
    Column("channel", String(12), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("channel IN ('sms', 'whatsapp', 'app')", name="channel"),
)


# --- Scheduled work (migration 0007) -------------------------------------------------------------

# One row per occurrence of a clock-driven job (the 06:00 cycle of a day, a window tick): the worker
# that inserts it runs it, so several workers never do the same occurrence twice.
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(32), primary_key=True),
    Column("due_at", UTCDateTime, primary_key=True),
    Column("worker", String(64), nullable=False),
    Column("status", String(12), nullable=False),  # running | done | failed
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("detail", Text, nullable=True),
    CheckConstraint("status IN ('running', 'done', 'failed')", name="status"),
)


# --- Counter collections (migration 0008) ---------------------------------------------------------

# Who took the cash for each service-centre counter recharge: written in the recharge's own
# transaction, so every counter recharge has its executive (a cash-up per executive reads this).
counter_collections = Table(
    "counter_collections",
    metadata,
    Column("reference", String(64), primary_key=True),  # the counter recharge's reference
    Column("taken_by", String(64), nullable=False, index=True),  # the staff username
    Column("taken_at", UTCDateTime, nullable=False),
)


# --- Refunds (issue 17; migration 0010_refunds) ---------------------------------------------------

# Money the gateway took that was never credited: a payment a recharge rule refused after it was
# taken, or one of another amount than its intent. One row per intent, written in the transaction
# of the webhook event that found it; staff mark it refunded with the gateway's refund reference.
refunds = Table(
    "refunds",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("intent_id", String(40), nullable=False, unique=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),  # what the gateway took
    Column("code", String(40), nullable=False),  # why it was not credited (the rule's code)
    Column("detail", Text, nullable=False),
    Column("event_id", String(64), nullable=False),  # the webhook event that found it
    Column("gateway_payment_id", String(64), nullable=True),
    Column("status", String(12), nullable=False),  # due | refunded
    Column("created_at", UTCDateTime, nullable=False),
    Column("refunded_at", UTCDateTime, nullable=True),
    Column("refunded_by", String(64), nullable=True),  # the staff username
    Column("refund_reference", String(64), nullable=True),  # the gateway's refund id
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("status IN ('due', 'refunded')", name="status"),
    Index("ix_refunds_status_created_at", "status", "created_at"),
)


# --- Monthly e-bills (issue 13; migration 0015) ---------------------------------------------------

# The statement of a prepaid connection's month, computed from the ledger and the readings. Append-only
# (the database refuses UPDATE and DELETE): a correction is a new revision naming the one it replaces.
bills = Table(
    "bills",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("bill_no", String(32), nullable=False, unique=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False),
    Column("month", Date, nullable=False),  # the month's first day
    Column("revision", Integer, nullable=False),
    Column("replaces_id", BigInteger, nullable=True),  # the revision this one corrects
    Column("language", String(2), nullable=False),  # the consumer's language when it was issued
    Column("issued_at", UTCDateTime, nullable=False),
    Column("units_wh", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),  # the month's deductions
    Column("opening_balance", BigInteger, nullable=False),
    Column("closing_balance", BigInteger, nullable=False),
    Column("recharged", BigInteger, nullable=False),
    Column("content", Text, nullable=False),  # the statement, canonical JSON
    Column("content_hash", String(64), nullable=False),  # SHA-256 of content
    Column("verification_code", String(12), nullable=False),  # printed on the PDF
    # A postpaid bill is the same document with its own number series and a due date (0019).
    Column("mode", String(8), nullable=False, server_default="prepaid"),
    Column("due_on", Date, nullable=True),
    UniqueConstraint("service_no", "month", "mode", "revision"),
    CheckConstraint("mode IN ('prepaid', 'postpaid')", name="mode"),
    CheckConstraint("revision >= 1", name="revision_positive"),
    CheckConstraint("language IN ('en', 'te')", name="language"),
    Index("ix_bills_month_service_no", "month", "service_no"),
    Index("ix_bills_verification_code", "verification_code"),
)

# The key SMS bill links are signed with when none is configured (one row, made on first use).
bill_link_keys = Table(
    "bill_link_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("secret", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


# --- Postpaid (migration 0019) ----------------------------------------------------------------------

# A switch of billing mode from the start of an IST day: pending (withdrawable) until then.
mode_switches = Table(
    "mode_switches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("from_mode", String(8), nullable=False),
    Column("to_mode", String(8), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("status", String(10), nullable=False),  # billing.mode_switch.Status
    Column("requested_via", String(10), nullable=False),  # consumer | staff | scenario
    Column("requested_by", String(64), nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),  # done or withdrawn
    # The settlement, once done (paise): what went to the wallet or the advance, to dues, the
    # deposit set against dues, and what a switch to postpaid put on the first bill.
    Column("carried", BigInteger, nullable=True),
    Column("to_dues", BigInteger, nullable=True),
    Column("deposit_adjusted", BigInteger, nullable=True),
    Column("to_receivable", BigInteger, nullable=True),
    Column("unbilled", BigInteger, nullable=True),  # to prepaid: the postpaid days it settled
    CheckConstraint("status IN ('pending', 'done', 'withdrawn')", name="status"),
    CheckConstraint(
        "from_mode IN ('prepaid', 'postpaid') AND to_mode IN ('prepaid', 'postpaid') "
        "AND from_mode <> to_mode",
        name="modes",
    ),
    CheckConstraint("requested_via IN ('consumer', 'staff', 'scenario')", name="requested_via"),
    Index("ix_mode_switches_status_effective_on", "status", "effective_on"),
)

# A postpaid day, rated by the same engine as a prepaid one; posted when a bill (or a switch to
# prepaid) takes it. Taken: id <= the connection's prepaid_state.postpaid_taken_id (a connection's
# days are rated in day order, so its ids rise with the day).
postpaid_charges = Table(
    "postpaid_charges",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False),
    Column("day", Date, nullable=False),
    Column("wh", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("items", Text, nullable=False),  # JSON [[component, paise], ...]
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("service_no", "day"),
)

# What a postpaid consumer owes, item by item; unpaid amounts sum to the receivable account.
postpaid_items = Table(
    "postpaid_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("kind", String(12), nullable=False),  # billing.postpaid.ItemKind
    Column("bill_id", BigInteger, nullable=True),
    Column("label", String(64), nullable=False),
    Column("due_on", Date, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("paid", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0 AND paid >= 0 AND paid <= amount", name="paid"),
    CheckConstraint("kind IN ('bill', 'carried', 'dues', 'short_bill', 'arrears', 'released')", name="kind"),
)

postpaid_payments = Table(
    "postpaid_payments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("applied", BigInteger, nullable=False),  # to bills (open items)
    Column("to_advance", BigInteger, nullable=False),  # beyond what was owed: set against the next bill
    Column("outstanding_after", BigInteger, nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("posting_id", BigInteger, nullable=False),
    UniqueConstraint("channel", "reference"),
    CheckConstraint(
        "amount > 0 AND applied >= 0 AND to_advance >= 0 AND applied + to_advance = amount", name="split"
    ),
)

# The running totals of each postpaid connection's days not billed yet (lifecycle/unbilled.py): the
# cycle adds each night's days, a bill takes them whole, so a bill reads one row, not thirty.
postpaid_unbilled = Table(
    "postpaid_unbilled",
    metadata,
    Column("service_no", String(20), ForeignKey("connections.service_no"), primary_key=True),
    Column("month", Date, nullable=False),  # every day held is of this month or an earlier one
    Column("days", Integer, nullable=False),
    Column("wh", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("components", Text, nullable=False),  # JSON {component: paise}
    Column("upto_id", BigInteger, nullable=False),  # the newest postpaid_charges row held
    # A day of a later month was left out (the month's bill had not taken these yet): the rows are
    # the truth until a bill takes this month and the totals are made again from them.
    Column("overflow", Boolean, nullable=False),
)
