"""Rate limits per client: typing resume codes, and starting new responses.

* ``resume`` (``RESUME_RATE_LIMIT``, default 10 a minute and 50 an hour): nobody can guess their
  way into other people's answers.  A resume code is 8 characters from a 25-letter alphabet
  (about 1.5e11 codes); against a wave with a million unfinished responses an unlimited guesser
  would hit one every ~150,000 tries, with the limit that takes years.
* ``new_response`` (``NEW_RESPONSE_RATE_LIMIT``, default 30 an hour): the consent POST that
  starts a response, so one client cannot fill a wave with empty responses.  A family or a
  classroom behind one address stays well under it; a site that surveys many people through one
  connection (a school network, a survey kiosk) raises it in the instance config.

The limits use the ``limits`` library (the engine behind Flask-Limiter) directly and only on these
two forms, so the questionnaire's hot path pays nothing. Clients are told apart by a keyed hash
of their address: the address itself is never stored, not even in the limiter's memory, as the
consent text promises (behind a reverse proxy set ``TRUSTED_PROXIES``, or every client has the
proxy's address).  ``RATELIMIT_STORAGE_URI`` (environment or instance config) chooses where
counts live: ``memory://`` (default; per worker process, so with 2 workers a client may get up
to twice the limit) or ``redis://127.0.0.1:6379`` shared by every worker and web server (needs
the ``redis`` package).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Flask, current_app, request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

EXTENSION = "survey_rate_limits"
PROXY_WARNED = "survey_rate_limits.proxy_warned"

# name -> (config key, default); the name is also the counters' namespace in the storage
LIMITS = {
    "resume": ("RESUME_RATE_LIMIT", "10 per minute; 50 per hour"),
    "new_response": ("NEW_RESPONSE_RATE_LIMIT", "30 per hour"),
}


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    for key, default in LIMITS.values():
        app.config.setdefault(key, default)
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
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


def _client_key() -> str:
    _warn_if_behind_an_unconfigured_proxy()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    address = (request.remote_addr or "unknown").encode()
    return hmac.new(secret, address, hashlib.sha256).hexdigest()[:24]


def wait_seconds(name: str) -> int:
    """Count one attempt of this client at ``name``; 0 when it is within every limit, else the
    seconds until an attempt can succeed again (for ``Retry-After``)."""
    limiter, limits = current_app.extensions[EXTENSION]
    key = _client_key()
    over = [limit for limit in limits[name] if not limiter.hit(limit, name, key)]
    if not over:
        return 0
    now = time.time()
    resets = [limiter.get_window_stats(limit, name, key).reset_time for limit in over]
    return max(1, math.ceil(max(resets) - now))

