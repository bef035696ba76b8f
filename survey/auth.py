"""Staff sign-in: ``/login`` (e-mail and password), ``/login/code`` (the optional TOTP step),
``/logout``; Flask-Login with the session cookie, or an API token in ``Authorization``.

* **Session rotation.**  Signing in empties the session before the account goes into it, so
  nothing a browser carried before — including a session cookie someone planted, and its CSRF
  secret — survives into the signed-in session (the signed cookie is the whole session, so its
  contents are its identity).  The session lives as long as the browser session and at most
  ``LOGIN_SESSION_SECONDS`` (default 12 hours) from the sign-in.
* **Signing out ends every session of the account.**  The cookie names the account by its
  ``session_key``, which ``/logout`` replaces, so every cookie issued before — on this browser
  or another, or copied — stops working (a signed cookie cannot be revoked one by one).
* **Throttling** (survey/limits.py, ``login`` and ``login_address``): only failed attempts
  that passed the CSRF check count, per account and client address and per client address;
  over a limit every attempt is refused unchecked (a right password is not revealed), with
  429 and ``Retry-After``.  The account's owner at another address is not affected.
* **Unknown addresses** take as long as known ones and get the same message
  (``survey.accounts.authenticate``).
* **API tokens**: ``Authorization: Bearer tn_…`` authenticates a request without any cookie
  (``load_user_from_request``).  A browser never adds that header by itself, so such requests
  need no CSRF token; an API view that also accepts the session cookie must check the
  ``X-CSRFToken`` header for unsafe methods (``api_csrf_ok``).
"""

from __future__ import annotations

import re
import time

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from sqlalchemy import select
from wtforms.validators import ValidationError

from . import accounts, audit, limits
from .db import db
from .forms import csrf_ok
from .models import User

bp = Blueprint("auth", __name__)

SIGNED_IN_AT = "signed_in_at"
PENDING_USER = "pending_user"  # password accepted, the TOTP code still to come
PENDING_SINCE = "pending_since"
PENDING_SECONDS = 300
_SAFE_NEXT = re.compile(r"/(console|research)(/[A-Za-z0-9_./-]*)?")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _next_path() -> str:
    """Where to go after signing in: a console or research path, never another site."""
    target = request.args.get("next", "")
    if _SAFE_NEXT.fullmatch(target) and ".." not in target:
        return target
    return url_for("console.index")


def _throttled(email: str) -> int:
    """Seconds to wait before this client may try ``email`` again (0: go ahead)."""
    return max(limits.blocked_for("login", limits.account_key(email)),
               limits.blocked_for("login_address", limits.address_key()))


def _count_failure(email: str) -> None:
    limits.count("login", limits.account_key(email))
    limits.count("login_address", limits.address_key())


def _sign_in(user: User, how: str):
    """Rotate the session, then put the account in it (and into the audit trail)."""
    audit.record_account("login", user, detail=how)
    db.session.commit()
    session.clear()
    login_user(user)
    session[SIGNED_IN_AT] = int(time.time())
    return redirect(_next_path(), code=303)


def _form_page(template: str, status: int = 200, retry_after: int = 0, **context):
    page = current_app.make_response((render_template(
        template, csrf_token=generate_csrf(), next=request.args.get("next", ""), **context),
        status))
    if retry_after:
        page.headers["Retry-After"] = str(retry_after)
    return page


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_next_path(), code=303)
        return _form_page("auth/login.html", email="", errors={})
    email = accounts.normalise_email(request.form.get("email", ""))[:accounts.EMAIL_MAX_LENGTH]
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not csrf_ok():
        return _form_page("auth/login.html", 400, email=email, errors={
            "password": _("The form had expired. Please enter your password again.")})
    if not email:
        errors["email"] = _("Please enter your e-mail address.")
    if not password:
        errors["password"] = _("Please enter your password.")
    if errors:
        return _form_page("auth/login.html", email=email, errors=errors)
    wait = _throttled(email)
    if wait:
        return _form_page("auth/login.html", 429, wait, email=email, errors={
            "password": _("Too many failed attempts. Please wait a few minutes and try "
                          "again.")})
    user = accounts.authenticate(email, password)
    if user is None:
        _count_failure(email)
        audit.record_failed_sign_in(email, "password")
        return _form_page("auth/login.html", email=email, errors={
            "password": _("The e-mail address or the password is not right.")})
    if user.totp_secret:
        session.clear()
        session[PENDING_USER] = user.session_key
        session[PENDING_SINCE] = int(time.time())
        return redirect(url_for("auth.code", next=request.args.get("next") or None), code=303)
    return _sign_in(user, "password")


def _pending_user() -> User | None:
    key, since = session.get(PENDING_USER), session.get(PENDING_SINCE)
    if not isinstance(key, str) or not isinstance(since, int):
        return None
    if not 0 <= time.time() - since <= PENDING_SECONDS:
        return None
    return db.session.execute(
        select(User).where(User.session_key == key, User.active.is_(True))
    ).scalar_one_or_none()


@bp.route("/login/code", methods=["GET", "POST"])
def code():
    user = _pending_user()
    if user is None:  # no password step, or it was too long ago
        session.pop(PENDING_USER, None)
        return redirect(url_for("auth.login", next=request.args.get("next") or None), code=303)
    if request.method == "GET":
        return _form_page("auth/code.html", error=None)
    if not csrf_ok():
        return _form_page("auth/code.html", 400, error=_(
            "The form had expired. Please enter the sign-in code again."))
    typed = request.form.get("code", "")[:20]
    if not typed.strip():
        return _form_page("auth/code.html", error=_("Please enter the six-digit code."))
    wait = _throttled(user.email)
    if wait:
        return _form_page("auth/code.html", 429, wait, error=_(
            "Too many failed attempts. Please wait a few minutes and try again."))
    if not accounts.accept_totp(user, typed):
        _count_failure(user.email)
        audit.record_failed_sign_in(user.email, "sign-in code")
        return _form_page("auth/code.html", error=_(
            "This code is not right. Please enter the code your app shows now."))
    return _sign_in(user, "password and sign-in code")


@bp.post("/logout")
def logout():
    if not csrf_ok():
        abort(400)
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        if user is not None:
            user.session_key = accounts.new_session_key()
            audit.record_account("logout", user)
            db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login", signed_out=1), code=303)


# --------------------------------------------------------------------------- Flask-Login


def load_user_from_session(session_key: str) -> User | None:
    """The account the session names, while the sign-in is recent enough."""
    signed_in_at = session.get(SIGNED_IN_AT)
    limit = current_app.config["LOGIN_SESSION_SECONDS"]
    if not isinstance(signed_in_at, int) or not 0 <= time.time() - signed_in_at <= limit:
        return None
    return db.session.execute(
        select(User).where(User.session_key == session_key, User.active.is_(True))
    ).scalar_one_or_none()


def load_user_from_request(req) -> User | None:
    """``Authorization: Bearer tn_…``: the token's active, unrevoked account."""
    scheme, _space, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    user = accounts.user_for_api_token(token.strip())
    if user is not None:
        g.authenticated_by_token = True
        g.api_token_hash = accounts.api_token_hash(token.strip())
    return user


def api_csrf_ok() -> bool:
    """For API views: a request authenticated by a token needs no CSRF token (no browser
    sends the header by itself); one authenticated by the session cookie must carry the
    session's CSRF token in ``X-CSRFToken`` for every unsafe method."""
    if request.method in SAFE_METHODS or g.get("authenticated_by_token"):
        return True
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError:
        return False
    return True


def _unauthorised():
    """Not signed in: API clients get 401, people the sign-in page (a path, never a host)."""
    if "Authorization" in request.headers:
        abort(401)
    return redirect(url_for("auth.login", next=request.path), code=303)


def init_app(app: Flask) -> None:
    app.config.setdefault("LOGIN_SESSION_SECONDS", 12 * 60 * 60)
    # Flask-Login's context processor would load the user for every rendered template (the
    # respondent's pages too); the proxy below loads it only where a template uses it
    manager = LoginManager(app, add_context_processor=False)
    app.jinja_env.globals["current_user"] = current_user
    manager.login_message = None  # nothing flashed into the session
    # its "session protection" would write into every session (respondents' too) whose
    # browser identifier it has not seen; signing in rotates the session instead
    manager.session_protection = None
    manager.user_loader(load_user_from_session)
    manager.request_loader(load_user_from_request)
    manager.unauthorized_handler(_unauthorised)
    _skip_remember_cookie_for_respondents(app, manager)
    app.register_blueprint(bp)


def _skip_remember_cookie_for_respondents(app: Flask, manager: LoginManager) -> None:
    """Flask-Login's after-request hook reads the session on every response; a respondent's
    request never signs anybody in or out, so on the respondent's pages it has nothing to do
    but costs CPU and marks the session read (``Vary: Cookie``)."""
    hooks = app.after_request_funcs[None]
    position = hooks.index(manager._update_remember_cookie)

    def update_remember_cookie(response):
        if request.blueprint == "respondent":
            return response
        return manager._update_remember_cookie(response)

    hooks[position] = update_remember_cookie
