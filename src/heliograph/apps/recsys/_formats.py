"""Loaders for public review files, into the ``recsys_reviews`` dataset.

Three formats (entry point group ``heliograph.formats``):

- ``movielens``: MovieLens ``u.data``, tab-separated ``user id``, ``item id``, ``rating``,
  ``unix timestamp``, no header;
- ``amazon-json``: Amazon reviews (McAuley) as JSON lines, each an object with at least
  ``reviewerID``, ``asin``, ``overall`` and ``unixReviewTime`` (other fields are ignored);
- ``amazon-csv``: the Amazon ratings-only CSV, ``reviewerID,asin,overall,unixReviewTime``, no
  header.

They are strict: a line that is not a valid review is never skipped; it is returned under
``rejected_key("recsys_reviews")`` with its line number (1-based), the field and the rule it
broke, and the lake quarantines it (``heliograph.lake.ingest_frames``). A file that is not text,
or that has no valid line at all, is a :class:`~heliograph.core.SourceError`.

Example::

    frames = read_movielens("u.data")
    frames["recsys_reviews"].columns.tolist()
    # ['user', 'item', 'rating', 'timestamp', 'available_at']
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from heliograph.core import SourceError
from heliograph.lake import rejected_frame, rejected_key

__all__ = ["REVIEWS", "read_amazon_csv", "read_amazon_json", "read_movielens"]

REVIEWS = "recsys_reviews"
_MIN_RATING, _MAX_RATING = 0.5, 5.0
_FIRST_UNIX, _LAST_UNIX = 0, 4_102_444_800  # 1970 … 2100
Row = tuple[str, str, float, int]


class _Bad(Exception):
    def __init__(self, field: str, rule: str) -> None:
        self.field, self.rule = field, rule


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    file = Path(path)
    if not file.is_file():
        raise SourceError("file not found", file=str(file), field="path", rule="must exist")
    try:
        with file.open(encoding="utf-8", newline="") as handle:
            for number, raw in enumerate(handle, start=1):
                yield number, raw.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=str(file),
            field="content",
            rule="UTF-8 text, one review per line",
        ) from None


def _id(value: Any, field: str, *, digits: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Bad(field, "a non-empty identifier")
    text = str(value).strip()
    if not text:
        raise _Bad(field, "a non-empty identifier")
    if digits and not text.isdigit():
        raise _Bad(field, "a whole number")
    return text


def _rating(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise _Bad(field, f"a number from {_MIN_RATING:g} to {_MAX_RATING:g}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Bad(field, f"a number from {_MIN_RATING:g} to {_MAX_RATING:g}") from None
    if not math.isfinite(number) or not _MIN_RATING <= number <= _MAX_RATING:
        raise _Bad(field, f"a number from {_MIN_RATING:g} to {_MAX_RATING:g}")
    return number


def _unix(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise _Bad(field, "unix seconds, a whole number")
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            raise _Bad(field, "unix seconds, a whole number")
    elif not isinstance(value, int):
        raise _Bad(field, "unix seconds, a whole number")
    seconds = int(value)
    if not _FIRST_UNIX <= seconds < _LAST_UNIX:
        raise _Bad(field, "unix seconds between 1970 and 2100")
    return seconds


def _fields(text: str, sep: str, names: tuple[str, ...]) -> list[str]:
    parts = text.split(sep) if sep == "\t" else next(csv.reader([text]))
    if len(parts) != len(names):
        raise _Bad("line", f"{len(names)} fields ({', '.join(names)}), not {len(parts)}")
    return parts


def _read(path: str | Path, parse: Callable[[str], Row], what: str) -> dict[str, pd.DataFrame]:
    rows: list[Row] = []
    rejected: list[tuple[int, str, str, str]] = []
    for number, text in _lines(Path(path)):
        if not text.strip():
            rejected.append((number, "line", "not blank", text))
            continue
        try:
            rows.append(parse(text))
        except _Bad as bad:
            rejected.append((number, bad.field, bad.rule, text))
    if not rows:
        reason = f"; line {rejected[0][0]}: {rejected[0][1]} must be {rejected[0][2]}"
        raise SourceError(
            f"no line is a valid review{reason if rejected else ' (the file is empty)'}",
            file=str(path),
            field="content",
            rule=what,
        )
    users, items, ratings, seconds = zip(*rows, strict=True)
    stamps = pd.to_datetime(pd.Series(seconds, dtype="int64"), unit="s", utc=True)
    reviews = pd.DataFrame(
        {
            "user": pd.Series(users, dtype=str),
            "item": pd.Series(items, dtype=str),
            "rating": pd.Series(ratings, dtype=float),
            "timestamp": stamps.astype("datetime64[us, UTC]"),
            "available_at": stamps.astype("datetime64[us, UTC]"),
        }
    )
    return {REVIEWS: reviews, rejected_key(REVIEWS): rejected_frame(rejected)}


_ML = ("user id", "item id", "rating", "unix timestamp")
_AMAZON = ("reviewerID", "asin", "overall", "unixReviewTime")


def _movielens_line(text: str) -> Row:
    user, item, rating, stamp = _fields(text, "\t", _ML)
    return (
        _id(user, "user id", digits=True),
        _id(item, "item id", digits=True),
        _rating(rating, "rating"),
        _unix(stamp, "unix timestamp"),
    )


def _amazon_csv_line(text: str) -> Row:
    user, item, rating, stamp = _fields(text, ",", _AMAZON)
    return (
        _id(user, _AMAZON[0]),
        _id(item, _AMAZON[1]),
        _rating(rating, _AMAZON[2]),
        _unix(stamp, _AMAZON[3]),
    )


def _amazon_json_line(text: str) -> Row:
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        raise _Bad("line", "one JSON object") from None
    if not isinstance(record, dict):
        raise _Bad("line", "one JSON object")
    for name in _AMAZON:
        if name not in record:
            raise _Bad(name, "present")
    return (
        _id(record["reviewerID"], "reviewerID"),
        _id(record["asin"], "asin"),
        _rating(record["overall"], "overall"),
        _unix(record["unixReviewTime"], "unixReviewTime"),
    )


def read_movielens(path: str | Path) -> dict[str, pd.DataFrame]:
    """MovieLens ``u.data``: ``user id<TAB>item id<TAB>rating<TAB>unix timestamp``."""
    return _read(path, _movielens_line, "MovieLens u.data: user, item, rating, unix time (tabs)")


def read_amazon_csv(path: str | Path) -> dict[str, pd.DataFrame]:
    """The Amazon ratings-only CSV: ``reviewerID,asin,overall,unixReviewTime``, no header."""
    return _read(path, _amazon_csv_line, "Amazon ratings CSV: reviewerID,asin,overall,unixTime")


def read_amazon_json(path: str | Path) -> dict[str, pd.DataFrame]:
    """Amazon reviews, JSON lines: ``reviewerID``, ``asin``, ``overall``, ``unixReviewTime``."""
    return _read(path, _amazon_json_line, "Amazon reviews JSON lines (reviewerID, asin, …)")
