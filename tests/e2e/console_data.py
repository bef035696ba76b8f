"""Responses for the console's browser tests and its screenshots, written straight into the
database (the citizen's path through the pages is tested on its own in test_respondent_path.py
and test_console_path.py): completed responses with an answer to every choice and text item
and every page saved, and unfinished ones that stopped after a random page, spread over the
last days so that the wave's page has completions per day, a funnel and a sample composition.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from questionnaires.model import CHOICE_TYPES

TEXTS = ("多建回收站", "More bins near the bus stops, please.", "<script>alert(1)</script>",
         "=1+1 少用塑料袋", "公园里要多一些座椅\n第二行")


def add_responses(app, org: str, year: int, *, completed: int, unfinished: int = 0,
                  days: int = 1, seed: int = 0) -> None:
    """Add ``completed`` and ``unfinished`` responses to wave ``year`` of organisation ``org``
    (it must have its questionnaire), submitted over the last ``days`` days."""
    from questionnaires import Wave as WaveDefinition
    from survey.db import db
    from survey.models import Answer, Organisation, PageSave, Questionnaire, Response, Wave

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    with app.app_context():
        wave_id, text = db.session.execute(
            db.select(Wave.id, Questionnaire.definition).join(Questionnaire)
            .join(Organisation).where(Organisation.code == org, Wave.year == year)).one()
        definition = WaveDefinition.from_dict(json.loads(text))
        for n in range(completed + unfinished):
            done = n < completed
            submitted = now - timedelta(minutes=rng.randrange(max(1, days * 24 * 60 - 1)))
            duration = rng.randrange(180, 1200)
            started = submitted - timedelta(seconds=duration)
            reached = len(definition.pages) if done else rng.randrange(len(definition.pages))
            response = Response(
                wave_id=wave_id, status="complete" if done else "in_progress",
                language=rng.choice(("zh", "zh", "zh", "en")), page_index=reached,
                started_at=started, updated_at=submitted,
                submitted_at=submitted if done else None, duration_s=duration if done else None)
            db.session.add(response)
            db.session.flush()
            for page in definition.pages[:reached]:
                db.session.add(PageSave(response_id=response.id, page_key=page.key,
                                        first_saved_at=started, saved_at=started))
                for item in page.items:
                    answer = _answer(item, rng)
                    if answer is not None:
                        db.session.add(Answer(response_id=response.id, item=item.code,
                                              **answer))
        db.session.commit()


def _answer(item, rng: random.Random) -> dict | None:
    if item.type in CHOICE_TYPES:
        options = [option.code for option in item.options]
        if item.expected is not None and rng.random() < 0.95:  # most pass the attention check
            return {"code": int(item.expected)}
        return {"code": rng.choice(options)}
    if item.type == "text":
        return {"value": rng.choice(TEXTS)}
    return None  # the other types are not needed on the console's pages
