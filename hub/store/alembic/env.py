"""Alembic's entry point: run the revisions on the connection the hub hands over.

:mod:`hub.store.migrations` opens the transaction, takes the schema lock and
puts the connection in the config's attributes; Alembic sees a transaction
already begun and runs every revision inside it, so an upgrade is all or nothing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from hub.errors import StoreError


def run_revisions() -> None:
    if context.is_offline_mode():
        raise StoreError("the store's schema is upgraded on a live database only, not as SQL text")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise StoreError("run the store's revisions through hub.store.migrations")
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


# Alembic executes this file as a script of its own; imported as a module of
# the package (as tools listing the hub's modules do) it must do nothing.
if __name__ != "hub.store.alembic.env":
    run_revisions()
