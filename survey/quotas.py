"""Quotas: a wave's cross-classification of single-choice questions into cells (province × sex
× age group, say), each with an optional cap, as LimeSurvey and Qualtrics users know them.

* **Defining** (console, organisers of the wave's organisation): choose one to ``MAX_ITEMS``
  single-choice questions of the wave's questionnaire; every combination of their answers is a
  cell (at most ``MAX_CELLS``), without a cap at first.  The questions can be chosen only
  while the wave is a draft: once respondents answer, a changed cross-classification would
  leave the counts so far in cells that no longer exist.  Caps can change at any time (a cap
  below the count makes the cell full).  Both are recorded in the audit trail.
* **Respondents** (survey/respondent.py, survey/store.py): the page whose answers complete a
  cell's questions checks whether that cell is full (one statement, on that page only); the
  submit that completes the response takes its place in the cell atomically.  A response
  whose cell is full is closed as ``screened_out`` (its answers deleted) and the respondent
  sees that the group is complete.  A response that leaves a quota question unanswered (an
  optional question, or one hidden by a condition) is in no cell and is not counted.
* **Hot path**: the cells are read with the wave's state (survey/definitions.py) and cached
  with it (``QuotaPlan``); a wave without quotas costs nothing at all.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select

from questionnaires.model import CHOICE_TYPES

from . import audit, wave_cache
from .db import db
from .models import Quota, QuotaCell, Wave

KEY_SEPARATOR = "|"
MAX_ITEMS = 4
MAX_CELLS = 2_000
MAX_CAP = 1_000_000


class QuotaProblem(ValueError):
    """A quota form that cannot be saved: ``field`` is where the message goes, ``reason``
    names it (the console words it in the request's language)."""

    def __init__(self, field: str, reason: str, **details) -> None:
        super().__init__(reason)
        self.field, self.reason, self.details = field, reason, details


# --------------------------------------------------------------------------- respondent side


@dataclass(frozen=True, eq=False)
class QuotaPlan:
    """What the respondent's path needs of a wave's quota: its questions and each cell's id
    by its key (the answers' option codes in question order)."""

    items: tuple[str, ...]
    cells: Mapping[str, int]

    def cell_of(self, answers: Mapping[str, object]) -> int | None:
        """The id of the cell ``answers`` place a response in; None while a quota question
        is unanswered (or for a combination that has no cell)."""
        codes = []
        for code in self.items:
            value = answers.get(code)
            if value is None or isinstance(value, str):
                return None
            codes.append(str(value))
        return self.cells.get(KEY_SEPARATOR.join(codes))

    def asks_on(self, page_codes) -> bool:
        """Whether a page with these item codes asks one of the quota's questions."""
        return any(code in self.items for code in page_codes)


def read_plan(connection, wave_id: int, items: str) -> QuotaPlan:
    """The plan of the wave's quota whose questions are ``items`` (read with the wave's
    state, so only for waves that have a quota)."""
    rows = connection.execute(
        select(QuotaCell.key, QuotaCell.id).join(Quota, Quota.id == QuotaCell.quota_id)
        .where(Quota.wave_id == wave_id)).all()
    return QuotaPlan(items=tuple(items.split(",")), cells={key: cell for key, cell in rows})


# --------------------------------------------------------------------------- console side


def eligible_items(definition) -> list:
    """The questions a quota may cross-classify: those answered with one option code."""
    return [item for item in definition.items.values() if item.type in CHOICE_TYPES]


def quota_of(wave: Wave) -> Quota | None:
    return db.session.execute(select(Quota).where(Quota.wave_id == wave.id)).scalar_one_or_none()


def define(wave: Wave, definition, chosen: list[str], user) -> Quota | None:
    """Replace the wave's quota by the cross-classification of ``chosen`` (item codes, in
    order; none removes the quota), every cell without a cap; raises ``QuotaProblem``."""
    if wave.status != "draft":
        raise QuotaProblem("items", "not_draft")
    eligible = {item.code: item for item in eligible_items(definition)}
    chosen = list(dict.fromkeys(chosen))
    if len(chosen) > MAX_ITEMS:
        raise QuotaProblem("items", "too_many_items", limit=MAX_ITEMS)
    if any(code not in eligible for code in chosen):
        raise QuotaProblem("items", "not_eligible")
    items = [eligible[code] for code in chosen]
    count = math.prod(len(item.all_options) for item in items) if items else 0
    if count > MAX_CELLS:
        raise QuotaProblem("items", "too_many_cells", cells=count, limit=MAX_CELLS)
    old = quota_of(wave)
    if old is not None:
        db.session.execute(delete(QuotaCell).where(QuotaCell.quota_id == old.id))
        db.session.delete(old)
        db.session.flush()
    quota = None
    if items:
        quota = Quota(wave_id=wave.id, items=",".join(chosen))
        quota.cells = [
            QuotaCell(key=KEY_SEPARATOR.join(str(option.code) for option in combination),
                      cap=None, filled=0, screened=0)
            for combination in itertools.product(*(item.all_options for item in items))]
        db.session.add(quota)
    audit.record(user, "define_quotas", wave,
                 f"{' × '.join(chosen)}: {count} cells" if items else "removed")
    db.session.commit()
    wave_cache.forget_wave_states()
    return quota


def parse_caps(quota: Quota, form: Mapping[str, str]) -> tuple[dict[int, int | None],
                                                                  dict[str, str]]:
    """The caps typed into the form (``cap-ID``: empty for none, else a whole number from 0
    to ``MAX_CAP``) → ``({cell id: cap}, {field: reason})``."""
    caps, errors = {}, {}
    for cell in quota.cells:
        name = f"cap-{cell.id}"
        text = form.get(name, "").strip()
        if not text:
            caps[cell.id] = None
        elif text.isascii() and text.isdigit() and len(text) <= 7 and int(text) <= MAX_CAP:
            caps[cell.id] = int(text)
        else:
            errors[name] = "cap"
    return caps, errors


def set_caps(wave: Wave, quota: Quota, caps: Mapping[int, int | None], user) -> int:
    """Set the cells' caps (allowed in every status of the wave); records what changed and
    returns how many cells changed."""
    changes = []
    for cell in quota.cells:
        if cell.id in caps and caps[cell.id] != cell.cap:
            changes.append(f"{cell.key}: {_cap_text(cell.cap)} → {_cap_text(caps[cell.id])}")
            cell.cap = caps[cell.id]
    if changes:
        audit.record(user, "set_quota_caps", wave, "; ".join(changes))
        db.session.commit()
    return len(changes)


def _cap_text(cap: int | None) -> str:
    return "–" if cap is None else str(cap)


@dataclass(frozen=True)
class CellView:
    id: int
    key: str
    answers: tuple  # (item, option) per quota question; option None if no longer asked
    cap: int | None
    filled: int
    screened: int

    @property
    def full(self) -> bool:
        return self.cap is not None and self.filled >= self.cap


def cell_views(quota: Quota, definition) -> tuple[list, list[CellView]]:
    """``(quota's items, cells)`` with each cell's options, for the console and the API; an
    item the questionnaire no longer has appears as None."""
    items = [definition.items.get(code) if definition is not None else None
             for code in quota.items.split(",")]
    views = []
    for cell in quota.cells:
        answers = []
        for item, code in zip(items, cell.key.split(KEY_SEPARATOR), strict=True):
            option = None
            if item is not None:
                option = next((o for o in item.all_options if str(o.code) == code), None)
            answers.append((item, option, int(code)))
        views.append(CellView(id=cell.id, key=cell.key, answers=tuple(answers), cap=cell.cap,
                              filled=cell.filled, screened=cell.screened))
    return items, views


@dataclass(frozen=True)
class QuotaSummary:
    """A wave's quota fill in a few numbers (monitoring)."""

    items: tuple[str, ...]
    cells: int
    capped: int
    full: int
    filled: int
    cap_total: int
    screened: int

    def to_json(self) -> dict:
        return {"items": list(self.items), "cells": self.cells, "capped_cells": self.capped,
                "full_cells": self.full, "filled": self.filled, "cap_total": self.cap_total,
                "screened_out": self.screened}


def summary(wave_id: int) -> QuotaSummary | None:
    quota = db.session.execute(select(Quota).where(Quota.wave_id == wave_id)).scalar_one_or_none()
    if quota is None:
        return None
    cells = db.session.execute(
        select(QuotaCell.cap, QuotaCell.filled, QuotaCell.screened)
        .where(QuotaCell.quota_id == quota.id)).all()
    capped = [(cap, filled) for cap, filled, _s in cells if cap is not None]
    return QuotaSummary(
        items=tuple(quota.items.split(",")), cells=len(cells), capped=len(capped),
        full=sum(1 for cap, filled in capped if filled >= cap),
        filled=sum(filled for _c, filled, _s in cells),
        cap_total=sum(cap for cap, _f in capped),
        screened=sum(screened for _c, _f, screened in cells))


def cells_json(quota: Quota | None, definition) -> dict:
    """The API's form of the wave's quota: its questions and every cell's answers, cap and
    count."""
    if quota is None:
        return {"items": [], "cells": []}
    items, views = cell_views(quota, definition)
    return {
        "items": quota.items.split(","),
        "cells": [{
            "answers": {code: answer_code for code, (_i, _o, answer_code)
                        in zip(quota.items.split(","), view.answers, strict=True)},
            "values": {code: (option.value if option is not None else None)
                       for code, (_i, option, _c)
                       in zip(quota.items.split(","), view.answers, strict=True)},
            "cap": view.cap, "filled": view.filled, "screened_out": view.screened,
            "full": view.full,
        } for view in views],
    }
