"""A minimal researcher status page: each wave's state and response counts.

Shows only aggregate counts (no answers, no ids), so it needs no login; set
``STATUS_PAGE = False`` in the instance config to switch it off.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import func, select

from .db import db
from .definitions import survey_today
from .models import Questionnaire, Response, Wave

bp = Blueprint("research", __name__, url_prefix="/research")


@bp.get("/status")
def status():
    if not current_app.config.get("STATUS_PAGE", True):
        abort(404)
    counts = {}
    rows = db.session.execute(
        select(Response.wave_id, Response.status, func.count()).group_by(
            Response.wave_id, Response.status)
    )
    for wave_id, response_status, n in rows:
        counts.setdefault(wave_id, {})[response_status] = n
    waves = db.session.execute(
        select(Wave, Questionnaire.content_hash, Questionnaire.loaded_at)
        .outerjoin(Questionnaire, Questionnaire.wave_id == Wave.id)
        .order_by(Wave.year.desc())
    ).all()
    return render_template("research/status.html", waves=waves, counts=counts,
                           today=survey_today())
