"""The researchers' console: ``/console/`` lists the organisations and waves the signed-in
user may see (monitoring: any role, in the organisation or an ancestor).

This is the console's landing page only; creating waves, monitoring, quotas, exports and the
API come later.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required
from flask_wtf.csrf import generate_csrf

from .research import monitored_organisations, waves_of

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.get("/")
@login_required
def index():
    organisations = monitored_organisations()
    waves: dict[int, list] = {}
    for wave, _hash, _loaded in waves_of(organisations):
        waves.setdefault(wave.organisation_id, []).append(wave)
    depth = {}
    for org in organisations:  # parents come before their children
        depth[org.id] = depth.get(org.parent_id, -1) + 1 if org.parent_id in depth else 0
    return render_template("console/index.html", organisations=organisations, waves=waves,
                           depth=depth, csrf_token=generate_csrf())
