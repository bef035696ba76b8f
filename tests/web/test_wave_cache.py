"""The worker's caches live in survey/wave_cache.py, one entry per questionnaire content hash;
a page POST is read by the one answer validator whatever its encoding."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from survey import wave_cache
from survey.db import db
from survey.models import Answer, Questionnaire
from survey.wave_cache import BoundedCache, WaveEntry

from .conftest import FULL, answer, make_wave, start

SURVEY = Path(__file__).resolve().parents[2] / "survey"


def entry_of(wave):
    return wave_cache.waves.get(wave.content_hash)


def replace_questionnaire(app, wave) -> None:
    """What load-questionnaire does for a changed file: the row gets the new JSON and hash."""
    with app.app_context():
        row = db.session.execute(select(Questionnaire)).scalar_one()
        row.definition = json.dumps(wave.to_dict(), ensure_ascii=False)
        row.content_hash = wave.content_hash
        db.session.commit()


# --------------------------------------------------------------------------- entries


def test_an_unchanged_definition_keeps_its_entry(app, client, open_wave):
    start(client)
    assert client.get("/2031/page/about").status_code == 200
    entry = entry_of(open_wave)
    assert entry is not None and entry.content_hash == open_wave.content_hash
    assert answer(client, 2031, "about", FULL["about"]).status_code == 303
    assert client.get("/2031/page/n01").status_code == 200
    assert entry_of(open_wave) is entry
    assert len(entry.questions) > 0 and len(entry.frames) > 0  # fragments live in the entry


def test_a_changed_definition_gets_a_new_entry_and_the_old_one_is_not_used(app, client,
                                                                           open_wave):
    start(client)
    assert "2031年测试调查" in client.get("/2031/page/about").text
    old = entry_of(open_wave)
    changed = dataclasses.replace(open_wave, title={"zh": "改过的标题", "en": "Changed title"})
    assert changed.content_hash != open_wave.content_hash
    replace_questionnaire(app, changed)
    page = client.get("/2031/page/about")
    assert "改过的标题" in page.text and "2031年测试调查" not in page.text
    new = entry_of(changed)
    assert new is not None and new is not old
    assert new.content_hash == changed.content_hash and new.wave == changed


def test_a_state_read_before_the_change_never_files_the_new_definition_under_the_old_hash():
    old, new = make_wave(), dataclasses.replace(make_wave(), title={"zh": "新", "en": "New"})
    wave_cache.waves.discard(old.content_hash)
    wave_cache.waves.discard(new.content_hash)
    # the state said "old", but the row read afterwards already holds the new definition
    entry = wave_cache.wave_entry(old.content_hash, lambda: (new.content_hash, new))
    assert entry.wave == new and entry.content_hash == new.content_hash
    assert old.content_hash not in wave_cache.waves
    assert wave_cache.waves.get(new.content_hash) is entry


def test_close_wave_takes_effect_within_the_wave_cache_seconds(app, client, open_wave, runner):
    app.config["WAVE_CACHE_SECONDS"] = 60
    wave_cache.forget_wave_states()
    assert client.get("/2031/").status_code == 200
    assert runner.invoke(args=["close-wave", "2031"]).exit_code == 0
    assert client.get("/2031/").status_code == 410  # the command forgets the states at once
    wave_cache.forget_wave_states()


def test_a_wave_state_is_trusted_for_the_wave_cache_seconds_only(app, client, open_wave,
                                                                 monkeypatch):
    from survey.models import Wave as WaveRow

    clock = [1000.0]
    monkeypatch.setattr(wave_cache.time, "monotonic", lambda: clock[0])
    app.config["WAVE_CACHE_SECONDS"] = 2
    wave_cache.forget_wave_states()
    assert client.get("/2031/").status_code == 200
    with app.app_context():  # closed behind the worker's back (another server's command)
        db.session.execute(select(WaveRow)).scalar_one().status = "closed"
        db.session.commit()
    clock[0] += 1.9
    assert client.get("/2031/").status_code == 200
    clock[0] += 0.2
    assert client.get("/2031/").status_code == 410
    wave_cache.forget_wave_states()


def test_the_wave_entries_are_bounded():
    made = [wave_cache.entry_for(make_wave(3000 + n)) for n in range(wave_cache.WAVES_LIMIT + 3)]
    assert len(wave_cache.waves) == wave_cache.WAVES_LIMIT
    assert made[0].content_hash not in wave_cache.waves  # the oldest went
    assert wave_cache.waves.get(made[-1].content_hash) is made[-1]
    assert wave_cache.entry_for(make_wave(3000 + wave_cache.WAVES_LIMIT + 2)) is made[-1]


def test_a_bounded_cache_drops_its_oldest_entry_and_shares_one_value_between_threads():
    cache = BoundedCache(3)
    for n in range(5):
        cache.put(n, str(n))
    assert len(cache) == 3 and 0 not in cache and 1 not in cache and cache.get(4) == "4"
    assert cache.get_or_make(4, lambda: "other") == "4"

    shared = BoundedCache(10)
    barrier = threading.Barrier(8)
    got = []

    def make():
        barrier.wait()  # every thread misses before any stores
        return object()

    threads = [threading.Thread(target=lambda: got.append(shared.get_or_make("k", make)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8 and all(value is got[0] for value in got)
    assert shared.get("k") is got[0]


def test_visibility_is_kept_per_combination_of_the_answers_conditions_refer_to():
    entry = WaveEntry(make_wave())
    assert entry.condition_items == ("N01_P1",)
    first = entry.visibility({"N01_P1": 4, "sex": 1})
    assert entry.visibility({"N01_P1": 4, "sex": 2, "ATTN1": 4}) is first
    assert entry.visibility({"N01_P1": 2}) is not first


# --------------------------------------------------------------------------- one validator


BAD = {"sex": "7", "province": "x"}  # ASCII, but not a code of the question


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data"])
@pytest.mark.parametrize(("lang", "shown", "choose"), [
    ("zh", "请从列出的答案中选择一个。", "请选择一个答案。"),
    ("en", "Please choose one of the answers shown.", "Please choose an answer."),
])
def test_a_page_post_gets_its_messages_from_the_one_validator(app, client, open_wave,
                                                               content_type, lang, shown,
                                                               choose):
    start(client)
    url = f"/2031/page/about?lang={lang}"
    wrong = client.post(url, content_type=content_type, data={**BAD, "nav": "next"})
    assert wrong.status_code == 200
    assert f'<p class="field-error" id="sex-error">{shown}</p>' in wrong.text
    assert f'<p class="field-error" id="province-error">{shown}</p>' in wrong.text
    assert 'id="education-error"' not in wrong.text  # optional and left empty
    missing = client.post(url, content_type=content_type, data={"sex": "1", "nav": "next"})
    assert missing.status_code == 200
    assert f'<p class="field-error" id="province-error">{choose}</p>' in missing.text
    assert 'id="sex-error"' not in missing.text
    for value in ("²", "٣", "１", "1" * 5000):
        refused = client.post(url, content_type=content_type,
                              data={"sex": value, "province": "1", "nav": "next"})
        assert refused.status_code == 400, value
    with app.app_context():
        assert db.session.execute(select(Answer)).all() == []
    assert client.post(url, content_type=content_type,
                       data={**FULL["about"], "nav": "next"}).status_code == 303


def test_both_encodings_give_the_same_page(app, client, open_wave):
    start(client)
    pages = [client.post("/2031/page/about", content_type=content_type,
                         data={**BAD, "nav": "next"}).text
             for content_type in ("application/x-www-form-urlencoded", "multipart/form-data")]
    csrf = re.compile(r'name="csrf_token" value="[^"]+"')
    assert csrf.sub("", pages[0]) == csrf.sub("", pages[1])


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data"])
def test_every_respondent_form_checks_the_csrf_token(app, open_wave, content_type):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    consent = client.get("/2031/consent")
    token = re.search(r'name="csrf_token" value="([^"]+)"', consent.text).group(1)
    assert client.post("/2031/consent", content_type=content_type, data={}).status_code == 400
    assert client.post("/2031/consent", content_type=content_type,
                       data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/2031/consent", content_type=content_type,
                       data={"csrf_token": token}).status_code == 303
    posted = {**FULL["about"], "nav": "next"}
    assert client.post("/2031/page/about", content_type=content_type,
                       data=posted).status_code == 400
    assert client.post("/2031/page/about", content_type=content_type,
                       data={**posted, "csrf_token": token}).status_code == 303
    assert client.post("/2031/resume", content_type=content_type,
                       data={"code": "AAAA-AAAA"}).status_code == 400
    assert client.post("/2031/resume", content_type=content_type,
                       data={"code": "AAAA-AAAA", "csrf_token": token}).status_code == 200


def test_no_form_classes_remain_beside_the_validator():
    """The respondent's forms are read by survey.forms (csrf_ok, AnswerValidator) only."""
    for path in sorted(SURVEY.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("flask_wtf", "wtforms",
                                                                    "wtforms.fields"):
                pytest.fail(f"{path.name} imports {node.module}: form classes are gone")
            if isinstance(node, ast.ClassDef):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                assert not bases & {"FlaskForm", "Form", "Field"}, (path.name, node.name)


# --------------------------------------------------------------------------- no other caches


MUTATORS = {"clear", "update", "setdefault", "pop", "popitem", "append", "extend", "add",
            "discard", "remove", "insert", "__setitem__"}
CONTAINERS = {"dict", "list", "set", "OrderedDict", "defaultdict", "WeakValueDictionary",
              "WeakKeyDictionary", "deque", "BoundedCache", "ExpiringCache"}
MEMOISERS = {"lru_cache", "cache", "cached_property"}


def _is_container(value) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp
                  | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in CONTAINERS
    return False


def module_caches(source: str) -> list[str]:
    """Module-level names bound to a container that the module fills or empties at run time,
    functions memoised with ``functools``, and names rebound through ``global``."""
    tree = ast.parse(source)
    containers = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) and node.value else [])
        if targets and _is_container(node.value):
            containers |= {t.id for t in targets if isinstance(t, ast.Name)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del) \
                and isinstance(node.value, ast.Name) and node.value.id in containers:
            found.add(node.value.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in MUTATORS and isinstance(node.func.value, ast.Name) \
                and node.func.value.id in containers:
            found.add(node.func.value.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id in containers:
            found.add(node.target.id)
        elif isinstance(node, ast.Global):
            found |= {f"global {name}" for name in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                if name in MEMOISERS:
                    found.add(f"@{name} {node.name}")
    return sorted(found)


def test_the_scanner_finds_the_kinds_of_cache_the_survey_package_had():
    source = '''
import functools
from functools import lru_cache
REGISTRY = {"csv": 1}                       # filled once, only read: not a cache
_STATES: dict[tuple, object] = {}
_URLS = {}
_FORMS = dict()
_SEEN = set()
_COUNTER = 0

def state(key):
    _STATES[key] = 1
def forget():
    _URLS.clear()
def form(key):
    return _FORMS.setdefault(key, object())
def seen(key):
    _SEEN.add(key)
def bump():
    global _COUNTER
    _COUNTER += 1
@lru_cache(maxsize=8)
def load(path):
    return path
@functools.cache
def parse(text):
    return text
'''
    assert module_caches(source) == ["@cache parse", "@lru_cache load", "_FORMS", "_SEEN",
                                     "_STATES", "_URLS", "global _COUNTER"]


def test_no_module_keeps_a_cache_outside_the_cache_module():
    found = {path.relative_to(SURVEY).as_posix(): module_caches(path.read_text("utf-8"))
             for path in sorted(SURVEY.rglob("*.py")) if path.name != "wave_cache.py"}
    assert {name: caches for name, caches in found.items() if caches} == {}
    assert len(found) > 20  # the scan saw the package
