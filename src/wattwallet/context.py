"""What every use case needs: the store, the tariff book and the policy in force."""

from __future__ import annotations

import dataclasses
import datetime as dt

from wattwallet import config
from wattwallet.domain import errors, policy, tariff
from wattwallet.hes import adapter, simulator
from wattwallet.ledger import accounts
from wattwallet.messaging import sms
from wattwallet.store import db, migrate


class StoreNotMigrated(errors.WattWalletError):
    code = "store_not_migrated"


@dataclasses.dataclass(frozen=True)
class Context:
    store: db.Store
    tariffs: tariff.TariffBook
    policy: policy.Policy
    # The in-process simulator unless a real head-end link is configured.
    head_end: adapter.HeadEnd = dataclasses.field(default_factory=simulator.SimulatedHeadEnd)
    # Texts that must go now (OTPs): an SMS gateway adapter, or a stand-in until one is configured.
    sms: sms.Sender = dataclasses.field(default_factory=sms.Recorder)
    # Processes that share the scheduled daily cycle (`cycle run --workers` chooses its own).
    cycle_workers: int = 1


def open_context(settings: config.Settings, *, now: dt.datetime, upgrade: bool = False) -> Context:
    """Open the store (migrating it first when asked) and make sure the system accounts exist."""
    store = db.Store.from_url(settings.database_url)
    if upgrade:
        migrate.upgrade(store.engine)
    elif migrate.current_revision(store.engine) != migrate.head_revision():
        raise StoreNotMigrated(
            f"the database at {store.engine.url.render_as_string(hide_password=True)} is not at the "
            "current schema: run `wattwallet db upgrade` first"
        )
    with store.write() as conn:
        accounts.ensure_system_accounts(conn, now=now)
    inbox, gateway = settings.api.dev_sms_inbox, settings.delivery.sms
    sender: sms.Sender = (
        sms.HttpSender.from_settings(gateway) if gateway else sms.Inbox(inbox) if inbox else sms.Recorder()
    )
    book = settings.tariff_book()
    return Context(
        store=store, tariffs=book, policy=settings.policy, sms=sender, cycle_workers=settings.cycle_workers
    )
