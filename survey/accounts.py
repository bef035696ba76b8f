"""Staff accounts: passwords (argon2id), API tokens (SHA-256), TOTP, the demo account's guard.

* **Passwords** are hashed with argon2-cffi's ``PasswordHasher`` (argon2id, its RFC 9106
  parameters); a hash made with older parameters is replaced at the next sign-in.  Checking
  the password of an e-mail address that has no (active) account costs the same as checking a
  real one: a fixed dummy hash is verified instead, so the time of an answer does not tell
  which addresses have accounts.
* **API tokens** are 256 random bits shown once (``tn_…``); the database keeps their SHA-256.
* **TOTP** (pyotp, RFC 6238, 30-second steps, one step of clock drift either way): a code is
  accepted once (``users.totp_last_step``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from . import audit
from .db import db
from .models import ApiToken, User, to_minute, utc_now

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024
API_TOKEN_PREFIX = "tn_"
TOKEN_PREFIX_LENGTH = 11  # "tn_" and 8 characters: what the console and revoke-token show
# what an API token or a typed e-mail address may look like before it reaches a query
_API_TOKEN = re.compile(r"tn_[A-Za-z0-9_-]{40,60}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
EMAIL_MAX_LENGTH = 254
# the hash of a random password nobody knows, verified when an address has no account; made
# with argon2-cffi's current parameters (should they change, one is made once per app instead,
# so that the cost stays that of a real account's check)
DUMMY_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$343PzuUyskkbu/+ogSm8pA$"
              "/MMNH6CTaUIpzW0iHZybqdO0k0ssBAKuxpk8lrhjWeA")
DUMMY_HASH_EXTENSION = "survey.accounts.dummy_hash"

_hasher = PasswordHasher()


def normalise_email(text: str) -> str:
    return text.strip().lower()


def valid_email(email: str) -> bool:
    return len(email) <= EMAIL_MAX_LENGTH and _EMAIL.fullmatch(email) is not None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _dummy_hash() -> str:
    """A hash to verify when there is no account, with the parameters of a new real one."""
    if not _hasher.check_needs_rehash(DUMMY_HASH):
        return DUMMY_HASH
    dummy = current_app.extensions.get(DUMMY_HASH_EXTENSION)
    if dummy is None:
        dummy = current_app.extensions[DUMMY_HASH_EXTENSION] = _hasher.hash(
            secrets.token_hex(16))
    return dummy


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str) -> User | None:
    """The active account with this e-mail address and password, else None — in the same
    time whether or not the account exists."""
    user = None
    if valid_email(email) and len(password) <= 1024:
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None or not user.active:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def new_session_key() -> str:
    """What a session cookie names an account by; a new one ends every session before it."""
    return secrets.token_hex(32)


def new_password() -> str:
    """A random password for a new account (about 120 bits), to be shown once."""
    return secrets.token_urlsafe(15)


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used, or None."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"the password must have at least {PASSWORD_MIN_LENGTH} characters"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"the password must have at most {PASSWORD_MAX_LENGTH} characters"
    return None


# --------------------------------------------------------------------------- API tokens


def api_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, by: User | None = None) -> str:
    """A new token for ``user``; only its hash (and its first characters) is stored, so this
    is the one chance to show it.  Audited (``by``: who made it; None: a command)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=api_token_hash(token),
                   prefix=token[:TOKEN_PREFIX_LENGTH])
    db.session.add(row)
    db.session.flush()
    audit.record_account("create_token", user, by=by, by_email=None if by else audit.COMMAND_LINE,
                         detail=f"{user.email}: token {row.id} ({row.prefix}…)")
    db.session.commit()
    return token


def revoke_api_token(token: ApiToken, by: User | None = None) -> bool:
    """Revoke ``token`` now (the next request with it is 401); False if it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utc_now()
    audit.record_account("revoke_token", token.user, by=by,
                         by_email=None if by else audit.COMMAND_LINE,
                         detail=f"{token.user.email}: token {token.id} ({token.prefix or '?'}…)")
    db.session.commit()
    return True


def user_for_api_token(token: str) -> User | None:
    """The active user of an unrevoked token; its ``last_used_at`` (to the minute) is written
    at most once a minute."""
    if not _API_TOKEN.fullmatch(token):
        return None
    row = db.session.execute(
        select(ApiToken).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == api_token_hash(token), ApiToken.revoked_at.is_(None),
               User.active.is_(True))
    ).scalar_one_or_none()
    if row is None:
        return None
    minute = to_minute(utc_now())
    if row.last_used_at != minute:
        row.last_used_at = minute
        db.session.commit()
    return row.user


# --------------------------------------------------------------------------- TOTP


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, issuer: str = "Ten Norms survey") -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=issuer)


def accept_totp(user: User, code: str) -> bool:
    """Whether ``code`` is the user's current code (one step of drift either way) and has not
    been used before; an accepted code's step is remembered so it cannot be used again."""
    code = code.replace(" ", "")
    if not user.totp_secret or not (code.isascii() and code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = totp.timecode(datetime.now(UTC))
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            db.session.commit()
            return True
    return False


# --------------------------------------------------------------------------- the demo account

# settings that production sets (docs/deploy.md): any of them means "not a developer's machine"
PRODUCTION_MARKERS = {
    "SESSION_COOKIE_SECURE": lambda value: bool(value),
    "TRUSTED_HOSTS": lambda value: bool(value),
    "TRUSTED_PROXIES": lambda value: bool(value),
    "RATELIMIT_STORAGE_URI": lambda value: not str(value).startswith("memory://"),
    "SQLALCHEMY_DATABASE_URI": lambda value: not str(value).startswith("sqlite:"),
}


def production_marker(config) -> str | None:
    """The first setting that says this is a production configuration, else None."""
    for key, says_production in PRODUCTION_MARKERS.items():
        if key in config and says_production(config[key]):
            return key
    return None
