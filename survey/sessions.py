"""Flask's signed-cookie session, verified once per cookie value and process.

The session holds only Flask-WTF's CSRF secret, and it changes once per respondent: every later
request sends the same cookie again.  Flask's ``SecureCookieSessionInterface`` builds a new
serializer and checks the cookie's HMAC for every request; this subclass builds the serializer
once per key set and remembers, per process, the contents and signing time of cookie values it
has already verified with the current keys.  A remembered value is exactly a value that verified
before, so nothing is accepted that Flask would refuse — the age limit
(``PERMANENT_SESSION_LIFETIME``) is checked on every request as itsdangerous does.  Writing
the cookie is Flask's own code, except that it is written only when the session changed: a
respondent's session is permanent (it carries the binding of the response cookie to this device,
survey/respondent.py, and must last as long as that cookie), and Flask would otherwise re-sign
and re-send a permanent session on every request (``SESSION_REFRESH_EACH_REQUEST``), making
every cookie value new and this cache useless.
"""

from __future__ import annotations

import time

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

_SCALARS = (str, int, float, bool, type(None))


class VerifiedCookieSessionInterface(SecureCookieSessionInterface):
    cache_limit = 10_000

    def __init__(self) -> None:
        self._serializers: dict[tuple, object] = {}
        self._verified: dict[tuple, tuple[int, dict]] = {}

    def should_set_cookie(self, app, session) -> bool:
        return session.modified

    def _keys(self, app) -> tuple:
        return (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = self._keys(app)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        val = request.cookies.get(self.get_cookie_name(app))
        if not val:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (self._keys(app), val)
        hit = self._verified.get(key)
        if hit is not None:
            signed_at, data = hit
            age = int(time.time()) - signed_at
            if age > max_age or age < 0:  # as itsdangerous: expired
                return self.session_class()
            return self.session_class(data)  # a copy: the cached dict stays as verified
        try:
            data, signed = serializer.loads(val, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        # only flat contents are kept (the CSRF secret): a copy of the dict is then a deep copy
        if isinstance(data, dict) and all(isinstance(v, _SCALARS) for v in data.values()):
            if len(self._verified) >= self.cache_limit:
                self._verified.clear()
            self._verified[key] = (int(signed.timestamp()), dict(data))
        return self.session_class(data)
