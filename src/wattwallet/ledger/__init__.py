"""Double-entry ledger in integer paise: accounts, append-only postings, verification."""
