"""Rate limits: typing resume codes, and starting new responses (docs/web.md, "Rate limits").

Resume codes (8 characters from a 25-letter alphabet, about 1.5e11 codes) must not be guessable,
and the limit that stops guessing must not become a tool to lock other people out.  So:

* only attempts that passed the CSRF check and named **no** unfinished response count (a bare
  POST, or a page of ours posted from another site, costs nobody anything; typing your own
  code right never uses budget);
* ``resume`` (``RESUME_RATE_LIMIT``, default 10 a minute and 50 an hour) counts the wrong codes
  of one browser at one address (the session's CSRF secret tells browsers apart): a person's
  own typos, or a guesser's, lock out that browser only;
* ``resume_address`` (``RESUME_ADDRESS_RATE_LIMIT``, default 100 an hour) counts the wrong codes
  of every browser at one client address, so a guesser who throws away cookies is still
  bounded: 2,400 guesses a day per address, against a wave with a million unfinished
  responses one hit every ~60 days per address.  Many people behind one address (a carrier's
  NAT, a school) share only this generous budget;
* ``resume_code`` (``RESUME_CODE_RATE_LIMIT``, default 5 an hour) counts the attempts against
  one existing code, i.e. one unfinished response (typing its code gives it a new one, and
  the successive codes count together): a code that leaked cannot be used to pull the
  response back and forth between devices more than a few times an hour, and those attempts
  cost no address anything.

An attempt over a limit is refused whatever the code (429 with ``Retry-After``): answering a
right code while refusing wrong ones would tell a guesser which guess was right, with no bound
at all.

* ``new_response`` (``NEW_RESPONSE_RATE_LIMIT``, default 30 an hour): the consent POST that
  starts a response, per client address, so one client cannot fill a wave with empty responses.

* ``login`` (``LOGIN_RATE_LIMIT``, default 5 a minute and 20 an hour): failed sign-ins (wrong
  password or second-factor code) for one account **from one client address**.  Wrong
  passwords typed at one address lock that account out at that address only: the account's
  owner signs in from any other address as usual, so nobody can lock another person out.
* ``login_address`` (``LOGIN_ADDRESS_RATE_LIMIT``, default 100 an hour): failed sign-ins from
  one client address, whatever the account, so one client cannot try many accounts.
  There is deliberately no limit per account over all addresses (that would be the lock-out);
  argon2 and the optional second factor bound what many addresses together can do.

* ``api_token`` (``API_RATE_LIMIT``, default 600 a minute): every ``/api/v1`` request made
  with one API token, keyed by the token's SHA-256 (the stored hash, never the token), not by
  the address: a script on many machines shares its token's budget, and many tokens behind one
  proxy do not share one.  Over the limit the API answers a JSON 429 with ``Retry-After``
  (``api_token_wait``).  Requests with the console's session cookie do not count here.

The client address is the one ``survey.security`` resolves through ``TRUSTED_PROXIES``
(Werkzeug's ``ProxyFix``): behind a reverse proxy every client has its own address, not the
proxy's.  Counters are keyed by keyed hashes (of the address, the browser, the code), never the
values themselves, as the consent text promises.  ``RATELIMIT_STORAGE_URI`` chooses where counts
live: ``memory://`` (default; per worker process, so with 2 workers a client gets up to twice a
limit) or ``redis://host:6379/N``, shared by every worker and web server (the ``redis`` client
is a runtime dependency for this).  The limits use the ``limits`` library (the engine behind
Flask-Limiter) directly and only on these forms, so the questionnaire's hot path pays nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Flask, current_app, request, session
from flask_wtf.csrf import generate_csrf
from limits import parse_many
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

EXTENSION = "survey_rate_limits"
PROXY_WARNED = "survey_rate_limits.proxy_warned"

# name -> (config key, default); the name is also the counters' namespace in the storage
LIMITS = {
    "resume": ("RESUME_RATE_LIMIT", "10 per minute; 50 per hour"),
    "resume_address": ("RESUME_ADDRESS_RATE_LIMIT", "100 per hour"),
    "resume_code": ("RESUME_CODE_RATE_LIMIT", "5 per hour"),
    "new_response": ("NEW_RESPONSE_RATE_LIMIT", "30 per hour"),
    "login": ("LOGIN_RATE_LIMIT", "5 per minute; 20 per hour"),
    "login_address": ("LOGIN_ADDRESS_RATE_LIMIT", "100 per hour"),
    "api_token": ("API_RATE_LIMIT", "600 per minute"),
}


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    for key, default in LIMITS.values():
        app.config.setdefault(key, default)
    uri = app.config["RATELIMIT_STORAGE_URI"]
    try:
        storage = storage_from_string(uri)
    except ConfigurationError as exc:  # e.g. redis:// without the redis package
        raise RuntimeError(f"RATELIMIT_STORAGE_URI={uri}: {exc}") from None
    app.extensions[EXTENSION] = (
        MovingWindowRateLimiter(storage),
        {name: parse_many(app.config[key]) for name, (key, _default) in LIMITS.items()},
    )


def _warn_if_behind_an_unconfigured_proxy() -> None:
    """Behind a reverse proxy without ``TRUSTED_PROXIES`` every client has the proxy's address,
    so one busy hour would stop everybody from starting: say so in the log, once per app."""
    if (current_app.config.get("TRUSTED_PROXIES") or "X-Forwarded-For" not in request.headers
            or current_app.extensions.get(PROXY_WARNED)):
        return
    current_app.extensions[PROXY_WARNED] = True
    current_app.logger.warning(
        "requests carry X-Forwarded-For but TRUSTED_PROXIES is 0: if a reverse proxy stands "
        "in front, every client shares its address and its rate limits; set TRUSTED_PROXIES "
        "to the number of proxies (docs/web.md)")


def client_address() -> str:
    """The client's address as ``survey.security`` resolved it: with ``TRUSTED_PROXIES`` = N
    the app runs inside Werkzeug's ``ProxyFix``, which has already replaced ``REMOTE_ADDR`` by
    the address the N trusted proxies saw in ``X-Forwarded-For`` (HSTS uses the same)."""
    return request.remote_addr or "unknown"


def _keyed(*parts: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()[:24]


def address_key() -> str:
    """The client, as its address resolved through the trusted proxies (hashed)."""
    _warn_if_behind_an_unconfigured_proxy()
    return _keyed("address", client_address())


def browser_key() -> str:
    """One browser at one address: the address and the session's CSRF secret (hashed).  The
    secret is created here if the session has none yet (as the form's CSRF field would), so a
    browser keeps one key from its first attempt on."""
    generate_csrf()
    return _keyed("browser", client_address(), str(session["csrf_token"]))


def code_key(response_id: int) -> str:
    """The existing code of one response: its successive codes (each typed code is replaced)
    count together (hashed, like every key)."""
    return _keyed("response", str(response_id))


def account_key(email: str) -> str:
    """One account signing in from one client address (hashed)."""
    return _keyed("account", client_address(), email)


def _state(name: str):
    limiter, limits = current_app.extensions[EXTENSION]
    return limiter, limits[name]


def _retry_after(limiter, limits, name: str, key: str) -> int:
    now = time.time()
    resets = [limiter.get_window_stats(limit, name, key).reset_time for limit in limits]
    return max(1, math.ceil(max(resets) - now))


def blocked_for(name: str, key: str) -> int:
    """Without counting: 0 if one more attempt fits every limit of ``name``, else the seconds
    until it would (for ``Retry-After``)."""
    limiter, limits = _state(name)
    over = [limit for limit in limits if not limiter.test(limit, name, key)]
    return _retry_after(limiter, over, name, key) if over else 0


def count(name: str, key: str) -> int:
    """Count one attempt; 0 when it was within every limit, else the seconds to wait."""
    limiter, limits = _state(name)
    over = [limit for limit in limits if not limiter.hit(limit, name, key)]
    return _retry_after(limiter, over, name, key) if over else 0


def wait_seconds(name: str) -> int:
    """Count one attempt of this client address at ``name`` (``new_response``)."""
    return count(name, address_key())


def api_token_wait(token_hash: str) -> int:
    """Count one API request made with the token whose SHA-256 is ``token_hash``; 0 when it
    is within ``API_RATE_LIMIT``, else the seconds to wait."""
    return count("api_token", token_hash)
