"""The ledger's schema on any database it opens: missing tables created, and missing indexes
added to existing tables, so a ledger made by an older release gains them on first open.

Several processes may open one older ledger at once (gateway replicas, the scheduler, the
dashboard). On PostgreSQL the index builds take a transaction-scoped advisory lock, so one
process builds and the others then find the index there (``CREATE INDEX IF NOT EXISTS``
alone races in the catalogue). On SQLite a process that cannot get the write lock while
another builds (``database is locked``) goes on without the index, logging it, and a later
open adds it: reads are right either way, only slower.

Example::

    create_tables(engine)   # what every ledger engine runs once, before its first query
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa

from ._ledger import _metadata

__all__: list[str] = []  # private: the ledger opens its databases through create_tables

logger = logging.getLogger("heliograph.ledger")

# pg_advisory_xact_lock's key for "the ledger's schema is being changed" (any fixed number)
_SCHEMA_LOCK = 0x68656C696F  # "helio"


def _create_index(engine: sa.Engine, index: sa.Index) -> None:
    with engine.begin() as con:
        if engine.dialect.name == "postgresql":  # builders queue; the next finds it built
            con.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        con.execute(sa.schema.CreateIndex(index, if_not_exists=True))
        if engine.dialect.name == "sqlite":  # the planner's figures for it
            con.exec_driver_sql(f'ANALYZE "{index.name}"')


def _add_missing_indexes(engine: sa.Engine, inspector: sa.Inspector, existed: set[str]) -> None:
    """Indexes the schema names that an older ledger's tables lack (create_all makes a new
    table's indexes, never an existing one's)."""
    for table in _metadata.sorted_tables:
        if table.name not in existed:
            continue
        have = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name in have:
                continue
            started = time.perf_counter()
            try:
                _create_index(engine, index)
            except sa.exc.OperationalError as exc:
                if engine.dialect.name != "sqlite" or "locked" not in str(exc.orig):
                    raise
                logger.warning(
                    "ledger: index %s on %s not added now (another process holds the "
                    "database); reading without it",
                    index.name,
                    table.name,
                )
                continue
            logger.info(
                "ledger: added index %s to %s in %.1f s",
                index.name,
                table.name,
                time.perf_counter() - started,
            )


def create_tables(engine: sa.Engine) -> None:
    """Every ledger table and index on ``engine``'s database: a few catalogue queries when
    all are there."""
    inspector = sa.inspect(engine)
    existed = set(inspector.get_table_names())
    _metadata.create_all(engine)
    _add_missing_indexes(engine, inspector, existed)
