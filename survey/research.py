"""The researchers' status page: each wave's state and response counts, for signed-in staff.

``/research/status`` lists the waves of every organisation where the signed-in user may
monitor (``survey.permissions``: any role, in the organisation or an ancestor); counts only, no
answers, no ids.  Counts come from ``survey.wave_cache.response_counts``: one indexed count per
wave at most every ``STATUS_COUNTS_SECONDS`` (default 30 s) per worker, a closed wave's at most
every ``CLOSED_STATUS_COUNTS_SECONDS`` (default 1 hour), so a view costs no scan of the
responses however often the page is reloaded.  ``STATUS_PAGE = False`` switches it off.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from .db import db
from .definitions import database_key, survey_today
from .models import Organisation, Questionnaire, Response, Wave
from .permissions import MONITOR, visible
from .wave_cache import response_counts

bp = Blueprint("research", __name__, url_prefix="/research")


def monitored_organisations() -> list[Organisation]:
    """The organisations whose aggregates the signed-in user may see, as a tree (parents
    before their children)."""
    organisations = db.session.execute(select(Organisation)).scalars().all()
    return tree_order(visible(current_user, MONITOR, organisations))


def tree_order(organisations: list[Organisation]) -> list[Organisation]:
    """Depth first, by code within a parent; an organisation whose parent is not listed
    starts a tree of its own."""
    listed = {org.id for org in organisations}
    children: dict[int | None, list[Organisation]] = {}
    for org in organisations:
        parent = org.parent_id if org.parent_id in listed else None
        children.setdefault(parent, []).append(org)
    ordered: list[Organisation] = []

    def walk(parent):
        for org in sorted(children.get(parent, []), key=lambda o: o.code):
            ordered.append(org)
            walk(org.id)

    walk(None)
    return ordered


def waves_of(organisations: list[Organisation]):
    """``(wave, content hash, loaded at)`` of these organisations, newest year first."""
    if not organisations:
        return []
    return db.session.execute(
        select(Wave, Questionnaire.content_hash, Questionnaire.loaded_at)
        .outerjoin(Questionnaire, Questionnaire.wave_id == Wave.id)
        .where(Wave.organisation_id.in_([org.id for org in organisations]))
        .order_by(Wave.year.desc(), Wave.id)
    ).all()


def response_counts_of(wave: Wave) -> dict[str, int]:
    """The wave's responses per status, from the worker's cache when fresh enough."""
    config = current_app.config
    seconds = (config["CLOSED_STATUS_COUNTS_SECONDS"] if wave.status == "closed"
               else config["STATUS_COUNTS_SECONDS"])
    return response_counts.fresh((database_key(), wave.id, wave.status), seconds,
                                 lambda: _count(wave.id))


def _count(wave_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Response.status, func.count()).where(Response.wave_id == wave_id)
        .group_by(Response.status))
    return dict(rows.all())


@bp.get("/status")
@login_required
def status():
    if not current_app.config.get("STATUS_PAGE", True):
        abort(404)
    organisations = monitored_organisations()
    if not organisations:
        abort(403)
    waves = waves_of(organisations)
    counts = {wave.id: response_counts_of(wave) for wave, _hash, _loaded in waves}
    return render_template("research/status.html", waves=waves, counts=counts,
                           names={org.id: org.name for org in organisations},
                           csrf_token=generate_csrf(),
                           today=survey_today())


def init_app(app) -> None:
    app.config.setdefault("STATUS_COUNTS_SECONDS", 30.0)
    app.config.setdefault("CLOSED_STATUS_COUNTS_SECONDS", 3600.0)
    app.register_blueprint(bp)
