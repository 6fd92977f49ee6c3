"""WattWallet: the prepayment engine for prepaid smart meters."""

__version__ = "0.1.0"
