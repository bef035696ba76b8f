"""Alembic environment: run by ``flask --app survey init-db`` with the app's connection.

Run directly (``alembic -c ...``) it builds the app to find the database URL.
"""

from alembic import context

from survey import models  # noqa: F401  (registers the tables on the metadata)
from survey.db import db

target_metadata = db.metadata


def run_migrations(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from survey import create_app

    with create_app().app_context(), db.engine.begin() as conn:
        run_migrations(conn)
