"""The recharge receipt, one schema wherever a recharge is answered or listed: an agent's till, the
service-centre counter, the consumer's receipts (instants in IST, as everywhere in the API)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from wattwallet.api import fields
from wattwallet.wallet import recharges


class Receipt(BaseModel):
    receipt_no: str
    service_no: str
    channel: str = Field(description="portal, app, retail, kiosk or counter")
    reference: str = Field(description="The channel's own reference for the payment")
    amount_paise: int
    to_dues_paise: int = Field(description="Taken for pending dues first")
    to_wallet_paise: int
    balance_after_paise: int = Field(description="Wallet balance right after this recharge")
    dues_remaining_paise: int
    first_recharge: bool
    paid_at: fields.Instant
    recorded_at: fields.Instant
    replayed: bool = Field(False, description="True when this answers a repeat of an earlier request")
    reconnect_command_id: str | None = Field(None, description="The reconnect this recharge set off, if any")
    taken_by: str | None = Field(None, description="Counter recharges: the executive who took the cash")

    @classmethod
    def of(cls, r: recharges.Receipt, *, taken_by: str | None = None) -> Receipt:
        return cls(
            receipt_no=r.receipt_no,
            service_no=r.service_no,
            channel=r.channel.value,
            reference=r.reference,
            amount_paise=r.amount,
            to_dues_paise=r.to_dues,
            to_wallet_paise=r.to_wallet,
            balance_after_paise=r.balance,
            dues_remaining_paise=r.dues_remaining,
            first_recharge=r.first_recharge,
            paid_at=r.paid_at,
            recorded_at=r.recorded_at,
            replayed=r.replayed,
            reconnect_command_id=r.reconnect_command,
            taken_by=taken_by,
        )
