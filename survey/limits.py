"""Rate limit on typing resume codes, so nobody can guess their way into other people's answers.

A resume code is 8 characters from a 25-letter alphabet (about 1.5e11 codes). Against a wave with
a million unfinished responses an unlimited guesser would hit one every ~150,000 tries; with
``RESUME_RATE_LIMIT`` (default 10 a minute and 50 an hour per client) that becomes years.

The limit uses the ``limits`` library (the engine behind Flask-Limiter) directly and only on the
resume form, so the questionnaire's hot path pays nothing. Clients are told apart by a keyed hash
of their address: the address itself is never stored, not even in the limiter's memory, as the
consent text promises. ``RATELIMIT_STORAGE_URI`` (environment or instance config) chooses where
counts live: ``memory://`` (default; per worker process) or ``redis://127.0.0.1:6379`` shared by
every worker and web server (needs the ``redis`` package).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, current_app, request
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

EXTENSION = "resume_rate_limit"


def init_app(app: Flask) -> None:
    app.config.setdefault("RESUME_RATE_LIMIT", "10 per minute; 50 per hour")
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions[EXTENSION] = (MovingWindowRateLimiter(storage),
                                 parse_many(app.config["RESUME_RATE_LIMIT"]))


def _client_key() -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    address = (request.remote_addr or "unknown").encode()
    return hmac.new(secret, address, hashlib.sha256).hexdigest()[:24]


def resume_attempt_allowed() -> bool:
    """Count one resume attempt of this client; False when it is over the limit."""
    limiter, limits = current_app.extensions[EXTENSION]
    key = _client_key()
    return all([limiter.hit(limit, "resume", key) for limit in limits])
