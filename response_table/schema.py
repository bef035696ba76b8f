"""The tables the responses table is read from, as SQLAlchemy Core table clauses: only the columns
read here, typed so that both back ends return the same Python values (dates and times as
``date``/``datetime``, also from SQLite's text).  The tables themselves are defined by the app's
models (survey/models.py) and its migrations; this package never creates or changes them."""

from __future__ import annotations

from sqlalchemy import Date, DateTime, Integer, String, Text, column, table

ORGANISATIONS = table("organisations", column("id", Integer), column("code", String),
                      column("parent_id", Integer))
WAVES = table("waves", column("id", Integer), column("organisation_id", Integer),
              column("year", Integer), column("opens", Date), column("closes", Date))
QUESTIONNAIRES = table("questionnaires", column("wave_id", Integer),
                       column("definition", Text))
RESPONSES = table("responses", column("id", Integer), column("wave_id", Integer),
                  column("status", String), column("started_at", DateTime),
                  column("updated_at", DateTime), column("duration_s", Integer))
# read by response_table.columns with its own SQL (in bulk, as CSV text)
ANSWERS = table("answers", column("response_id", Integer), column("item", String),
                column("code", Integer), column("value", String))

# what a read-only database role needs SELECT on (docs/analysis.md, "Reading the database")
READ_TABLES = ("organisations", "waves", "questionnaires", "responses", "answers")


def organisation_id(code: str):
    """The id of organisation ``code`` as an SQL expression."""
    from sqlalchemy import select

    return select(ORGANISATIONS.c.id).where(ORGANISATIONS.c.code == code).scalar_subquery()


def of_organisation(year: int, code: str):
    """The condition "wave ``year`` of organisation ``code``"."""
    return (WAVES.c.year == year) & (WAVES.c.organisation_id == organisation_id(code))
