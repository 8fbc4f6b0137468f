"""The store's schema history as Alembic revisions, run by :mod:`hub.store.migrations`.

``versions/`` holds one revision per step, numbered ``0001``, ``0002``, ... in
order; revision ``000N`` is what the hub's former migration runner recorded as
version N in ``schema_migrations``. Each revision carries its own DDL, written
against table definitions frozen in it: editing :mod:`hub.store.schema` later
must never change what an old revision does. The history only moves forward;
going back means restoring a backup taken before the upgrade.
"""
