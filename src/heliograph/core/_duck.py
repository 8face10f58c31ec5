"""DuckDB conventions in one place: sessions in UTC, results to pandas through Arrow.

>>> con = duck_connect()
>>> frame = duck_frame(con, "SELECT 1 AS one")

(DuckDB's own ``.df()`` calls a pandas API that pandas 3.1 deprecates; the Arrow route is
also the one that keeps ``timestamp with time zone`` as UTC.)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["duck_connect", "duck_frame"]


def duck_connect() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def duck_frame(con: Any, sql: str) -> pd.DataFrame:
    """The result of ``sql`` as a pandas DataFrame."""
    return con.sql(sql).to_arrow_table().to_pandas()
