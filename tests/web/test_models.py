"""Models, tokens and the app factory's configuration."""

from __future__ import annotations

import re

from sqlalchemy import select

from survey import create_app
from survey.db import db, normalise_database_url
from survey.models import (
    RESUME_ALPHABET,
    Answer,
    Response,
    new_token,
    normalise_resume_code,
    resume_code_for,
)

from .conftest import install_wave, make_wave


def test_resume_codes_use_an_unambiguous_alphabet():
    codes = {resume_code_for("key", new_token()) for _ in range(500)}
    assert len(codes) == 500
    assert all(re.fullmatch(f"[{RESUME_ALPHABET}]{{8}}", c) for c in codes)
    assert not set("0O1IL5S2Z8B") & set(RESUME_ALPHABET)
    assert normalise_resume_code(" abcd-efgh ") == "ABCDEFGH"


def test_tokens_are_long_and_random():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)


def test_a_response_gets_random_ids_and_cascades_its_answers(app):
    install_wave(app, make_wave())
    with app.app_context():
        wave_id = db.session.execute(select(db.metadata.tables["waves"].c.id)).scalar()
        a, b = Response(wave_id=wave_id), Response(wave_id=wave_id)
        db.session.add_all([a, b])
        db.session.flush()
        assert a.public_id != b.public_id
        assert (a.status, a.page_index, a.language) == ("in_progress", 0, "zh")
        db.session.add(Answer(response_id=a.id, item="sex", code=1))
        db.session.commit()
        db.session.delete(a)
        db.session.commit()
        assert db.session.execute(select(Answer)).all() == []


def test_database_url_spellings():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalise_database_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_configuration_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite")
    assert not app.testing


def test_default_database_and_persistent_secret_key_live_in_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    import flask

    monkeypatch.setattr(flask.Flask, "auto_find_instance_path", lambda self: str(tmp_path))
    first = create_app()
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'survey.sqlite'}"
    key = first.config["SECRET_KEY"]
    assert len(key) >= 32 and (tmp_path / "secret_key").read_text() == key
    assert create_app().config["SECRET_KEY"] == key  # survives a restart
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-instance'\n")
    assert create_app().config["SECRET_KEY"] == "from-instance"
