"""Staff accounts: roles, argon2id password hashes, no common or easily guessed passwords (zxcvbn),
lock-out after repeated wrong passwords (per username and caller)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re

import argon2
import sqlalchemy as sa
import zxcvbn

from wattwallet.consumers import sessions
from wattwallet.context import Context
from wattwallet.domain import errors
from wattwallet.store import schema

_HASHER = argon2.PasswordHasher()
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
# Verified against when the username is unknown, so that both cases cost the same time.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
FAILURE_KIND = "staff"
# zxcvbn's score (0-4): below this a password is refused. Its lists (the most common passwords of
# public breaches, English words, names, keyboard walks, repeats and sequences) ship with the package.
MIN_PASSWORD_SCORE = 3


class Role(enum.StrEnum):
    ADMIN = "admin"
    BILLING = "billing"
    HELPLINE = "helpline"
    SERVICE_CENTRE = "service_centre"
    FIELD = "field"


class StaffInvalid(errors.InvalidInput):
    code = "staff_invalid"


class PasswordTooWeak(errors.InvalidInput):
    code = "password_too_weak"


class StaffExists(errors.Conflict):
    code = "staff_exists"


class LoginRejected(errors.Unauthenticated):
    """Unknown user, wrong password, inactive or locked: one answer for all."""

    code = "login_invalid"


@dataclasses.dataclass(frozen=True)
class StaffUser:
    username: str
    name: str
    role: Role
    active: bool


def role(raw: object) -> Role:
    try:
        return Role(str(raw))
    except ValueError:
        raise StaffInvalid(f"role is one of {', '.join(r.value for r in Role)}, got {raw!r}") from None


def add(
    ctx: Context, *, username: str, name: str, role_name: str, password: str, now: dt.datetime
) -> StaffUser:
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise StaffInvalid("username is 3 to 64 of a-z, 0-9, '.', '_' or '-', starting with a letter")
    name = " ".join(str(name).split())
    if not 1 <= len(name) <= 120:
        raise StaffInvalid("name is 1 to 120 characters")
    if not isinstance(password, str) or not 12 <= len(password) <= 256:
        raise StaffInvalid("a staff password is 12 to 256 characters")
    check_password(password, username=username, name=name)
    chosen = role(role_name)
    u = schema.staff_users
    with ctx.store.write() as conn:
        if conn.execute(sa.select(u.c.username).where(u.c.username == username)).first():
            raise StaffExists(f"staff user {username!r} exists already")
        conn.execute(
            sa.insert(u).values(
                username=username,
                name=name,
                role=chosen.value,
                password_hash=_HASHER.hash(password),
                active=True,
                failed_logins=0,
                created_at=now,
            )
        )
    return StaffUser(username, name, chosen, True)


def sign_in(
    ctx: Context,
    *,
    username: object,
    password: object,
    caller: str,
    now: dt.datetime,
    minutes: int,
    max_failed: int,
    lockout_minutes: int,
) -> sessions.Issued:
    """A short-lived staff token. Wrong passwords count per (username, caller): `max_failed` of
    them within `lockout_minutes` lock that username for that caller only (even the right password
    is refused from there meanwhile), so a stranger cannot lock a colleague out from elsewhere.
    Unknown users, inactive or locked ones and wrong passwords all cost one argon2 verification
    (against a dummy hash when there is no real one) and the same statements: one answer, one time."""
    rejected = LoginRejected("username or password is wrong, or the account is locked")
    # A malformed username names no account; it is looked up as one that cannot exist (so the same
    # statements run, and no NUL or other junk reaches the database).
    name = username if isinstance(username, str) and _USERNAME.match(username) else "-"
    given = password if isinstance(password, str) and len(password) <= 256 else None
    who = (caller or "unknown")[:64]
    u, f = schema.staff_users, schema.auth_failures
    with ctx.store.write() as conn:
        row = conn.execute(sa.select(u).where(u.c.username == name).with_for_update()).first()
        failures = conn.execute(
            sa.select(sa.func.count()).where(
                f.c.kind == FAILURE_KIND,
                f.c.subject == name,
                f.c.caller == who,
                f.c.at > now - dt.timedelta(minutes=lockout_minutes),
            )
        ).scalar_one()
        locked = failures >= max_failed
        matches = _matches(row.password_hash if row is not None else _DUMMY_HASH, given or "")
        if row is not None and row.active and not locked and given is not None and matches:
            conn.execute(sa.delete(f).where(f.c.kind == FAILURE_KIND, f.c.subject == name, f.c.caller == who))
            return sessions.issue(
                conn, kind=sessions.STAFF, subject=name, role=row.role, minutes=minutes, now=now
            )
        if not locked:
            conn.execute(sa.insert(f).values(kind=FAILURE_KIND, subject=name, caller=who, at=now))
    raise rejected


def check_password(password: str, *, username: str, name: str) -> None:
    """Refuse a common, breached or easily guessed password (zxcvbn, with the username and name
    as the words an attacker tries first)."""
    verdict = zxcvbn.zxcvbn(password, user_inputs=[username, *name.split()])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        warning = str(verdict["feedback"].get("warning") or "it is too easy to guess")
        raise PasswordTooWeak(
            f"that password is too common or too easy to guess ({warning.rstrip('.')}); "
            "choose a longer one, e.g. a few unrelated words"
        )


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except argon2.exceptions.VerificationError:
        return False
    except argon2.exceptions.InvalidHashError:
        return False
