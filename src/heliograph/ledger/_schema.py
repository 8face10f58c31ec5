"""The ledger's schema on any database it opens: missing tables created, missing indexes
added to existing tables (an older ledger gains them on first open), and the per-version
prediction counts kept by the database itself.

``prediction_counts`` holds one row per (model_name, model_version): how many predictions
that version made. Triggers on ``predictions`` keep it exact on every insert and delete,
whoever writes (the writer, a replay, a bulk load in SQL), so lineage reads one row instead
of counting millions. A ledger made before the table existed gets it, its triggers and a
count of what is already there in one transaction, with writers held off meanwhile (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: a SHARE lock on ``predictions``), so no row is counted
twice or missed.

Example::

    create_tables(engine)   # what every ledger engine runs once, before its first query
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa

from ._ledger import _metadata

__all__: list[str] = []  # private: the ledger opens its databases through create_tables

logger = logging.getLogger("heliograph.ledger")

_counts_metadata = sa.MetaData()  # apart: created with its triggers, never by create_all
prediction_counts_table = sa.Table(
    "prediction_counts",
    _counts_metadata,
    sa.Column("model_name", sa.String(256), primary_key=True),
    sa.Column("model_version", sa.String(32), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS prediction_counts_insert AFTER INSERT ON predictions
    BEGIN
      INSERT INTO prediction_counts (model_name, model_version, n)
      VALUES (NEW.model_name, NEW.model_version, 1)
      ON CONFLICT (model_name, model_version) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS prediction_counts_delete AFTER DELETE ON predictions
    BEGIN
      UPDATE prediction_counts SET n = n - 1
      WHERE model_name = OLD.model_name AND model_version = OLD.model_version;
    END""",
)
_POSTGRESQL_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION helio_prediction_counts_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
      INSERT INTO prediction_counts (model_name, model_version, n)
      SELECT model_name, model_version, count(*) FROM helio_new GROUP BY 1, 2
      ON CONFLICT (model_name, model_version)
      DO UPDATE SET n = prediction_counts.n + EXCLUDED.n;
      RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION helio_prediction_counts_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
      UPDATE prediction_counts c SET n = c.n - d.n
      FROM (SELECT model_name, model_version, count(*) AS n FROM helio_old GROUP BY 1, 2) d
      WHERE c.model_name = d.model_name AND c.model_version = d.model_version;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER prediction_counts_insert AFTER INSERT ON predictions
    REFERENCING NEW TABLE AS helio_new FOR EACH STATEMENT
    EXECUTE FUNCTION helio_prediction_counts_insert()""",
    """CREATE TRIGGER prediction_counts_delete AFTER DELETE ON predictions
    REFERENCING OLD TABLE AS helio_old FOR EACH STATEMENT
    EXECUTE FUNCTION helio_prediction_counts_delete()""",
)
_BACKFILL = (
    "INSERT INTO prediction_counts (model_name, model_version, n) "
    "SELECT model_name, model_version, count(*) FROM predictions GROUP BY model_name, model_version"
)


def _add_missing_indexes(engine: sa.Engine, inspector: sa.Inspector, existed: set[str]) -> None:
    """Indexes the schema names that an older ledger's tables lack (create_all makes a new
    table's indexes, never an existing one's)."""
    for table in _metadata.sorted_tables:
        if table.name not in existed:
            continue
        have = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                started = time.perf_counter()
                with engine.begin() as con:  # another process may be adding it too
                    con.execute(sa.schema.CreateIndex(index, if_not_exists=True))
                    if engine.dialect.name == "sqlite":  # the planner's figures for it
                        con.exec_driver_sql(f'ANALYZE "{index.name}"')
                logger.info(
                    "ledger: added index %s to %s in %.1f s",
                    index.name,
                    table.name,
                    time.perf_counter() - started,
                )


def _counts_sqlite(engine: sa.Engine) -> None:
    raw = engine.raw_connection()
    driver: Any = raw.driver_connection  # sqlite3's own connection
    try:
        driver.isolation_level = None  # we say BEGIN and COMMIT
        cursor = driver.cursor()
        cursor.execute("BEGIN IMMEDIATE")  # writers wait: none between trigger and count
        try:
            found = cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'prediction_counts'"
            ).fetchone()
            if found is None:
                cursor.execute(str(sa.schema.CreateTable(prediction_counts_table).compile(engine)))
                for statement in _SQLITE_TRIGGERS:
                    cursor.execute(statement)
                cursor.execute(_BACKFILL)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
    finally:
        driver.isolation_level = ""  # the pool's default again
        raw.close()


def _counts_postgresql(engine: sa.Engine) -> None:
    with engine.begin() as con:
        con.exec_driver_sql("LOCK TABLE predictions IN SHARE ROW EXCLUSIVE MODE")
        if sa.inspect(con).has_table("prediction_counts"):
            return  # another process made it while we waited for the lock
        con.execute(sa.schema.CreateTable(prediction_counts_table))
        for statement in _POSTGRESQL_TRIGGERS:
            con.exec_driver_sql(statement)
        con.exec_driver_sql(_BACKFILL)


def create_tables(engine: sa.Engine) -> None:
    """Every ledger table, index and the prediction counts with their triggers, on
    ``engine``'s database: a few catalogue queries when all are there."""
    inspector = sa.inspect(engine)
    existed = set(inspector.get_table_names())
    _metadata.create_all(engine)
    _add_missing_indexes(engine, inspector, existed)
    if "prediction_counts" not in existed:
        started = time.perf_counter()
        (_counts_postgresql if engine.dialect.name == "postgresql" else _counts_sqlite)(engine)
        if "predictions" in existed:
            logger.info(
                "ledger: counted the existing predictions per version in %.1f s",
                time.perf_counter() - started,
            )
