"""Sources: where a lake's data comes from. Files (CSV, Parquet or a public format that a
plugin reads) and replayed streams, which release records only once the clock has passed
the time they became available.

Example::

    source = FileSource("prices", paths=["data/*.csv"], dataset="energy_prices")
    for batch in source.batches(now):
        lake.ingest(batch.dataset, batch.frame, origin=batch.origin)
        batch.done()

Plugins add formats (entry point group ``heliograph.formats``: ``read(path) -> {dataset:
frame}``) and source types (group ``heliograph.sources``: ``make(name, options, state_dir) ->
Source``); the energy reference system adds the ``epf`` format and the ``energy-simulator``
source this way.
"""

from __future__ import annotations

import functools
import glob
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pandas as pd

from heliograph.core import ConfigError, SourceError, atomic_write, track

__all__ = [
    "Batch",
    "FileSource",
    "ReplaySource",
    "Source",
    "available_formats",
    "make_source",
    "read_file",
]

Reader = Callable[[Path], Mapping[str, pd.DataFrame]]


@dataclass
class Batch:
    """Rows for one dataset from one origin. Call ``done()`` once they are safely ingested."""

    dataset: str
    frame: pd.DataFrame
    origin: str
    on_done: Callable[[], None] | None = field(default=None, repr=False)

    def done(self) -> None:
        if self.on_done is not None:
            self.on_done()


class Source(ABC):
    """Something that yields batches of rows, up to the clock's ``now``."""

    name: str

    @abstractmethod
    def batches(self, now: datetime) -> Iterator[Batch]:
        """The batches available at ``now`` that were not delivered (and marked done) before."""


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise SourceError(
            f"{path} is empty", file=str(path), rule="a CSV file with a header row"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SourceError(
            f"{path} is not valid CSV: {str(exc).strip()}",
            file=str(path),
            rule="comma-separated values, one header row, UTF-8",
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise SourceError(
            f"{path} is not a readable Parquet file: {exc}", file=str(path), rule="Apache Parquet"
        ) from None


_BUILTIN = {"csv": _read_csv, "parquet": _read_parquet}


def _plugin_formats() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group="heliograph.formats")}


def available_formats() -> list[str]:
    return sorted({*_BUILTIN, *_plugin_formats()})


def read_file(path: Path | str, format: str, dataset: str | None = None) -> dict[str, pd.DataFrame]:
    """Read one file as ``{dataset: rows}``. CSV and Parquet files need ``dataset``."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"no such file: {path}", file=str(path), rule="the file exists")
    if format in _BUILTIN:
        if dataset is None:
            raise SourceError(
                f"a {format} file needs the dataset it belongs to",
                file=str(path),
                field="dataset",
                rule="--dataset NAME (or `dataset` in the source)",
            )
        return {dataset: _BUILTIN[format](path)}
    plugins = _plugin_formats()
    if format not in plugins:
        raise SourceError(
            f"unknown format {format!r}",
            file=str(path),
            field="format",
            rule="one of " + ", ".join(available_formats()),
        )
    frames = dict(plugins[format].load()(path))
    if dataset is not None:
        if dataset not in frames:
            raise SourceError(
                f"format {format} gives datasets {', '.join(frames)}, not {dataset}",
                file=str(path),
                field="dataset",
            )
        frames = {dataset: frames[dataset]}
    return frames


class _Watermark:
    """How far a source has delivered, kept in a small JSON file (atomically replaced)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def get(self) -> dict[str, str]:
        if self.path is None or not self.path.is_file():
            return {}
        return dict(json.loads(self.path.read_text()))

    def set(self, key: str, value: str) -> None:
        if self.path is None:
            return
        data = self.get()
        data[key] = value
        atomic_write(self.path, json.dumps(data, indent=1))


def _release(
    frame: pd.DataFrame, column: str, after: str | None, now: datetime, origin: str
) -> pd.DataFrame:
    if column not in frame.columns:
        raise SourceError(
            f"a replayed source needs column {column!r}",
            file=origin,
            field=column,
            rule="replayed rows say when they became available",
        )
    available = pd.to_datetime(frame[column], utc=True, format="mixed")
    mask = available <= pd.Timestamp(now)
    if after is not None:
        mask &= available > pd.Timestamp(after)
    return frame.loc[mask]


class ReplaySource(Source):
    """A stream replayed from history: rows are released once ``available_column`` <= now.

    ``load`` returns ``{dataset: frame}`` for the whole history (loaded on first use). With a
    ``state_path`` the source remembers how far it delivered, so each call yields only rows
    that became available since.
    """

    def __init__(
        self,
        name: str,
        load: Callable[[], Mapping[str, pd.DataFrame]],
        *,
        available_column: str = "available_at",
        state_path: Path | None = None,
    ) -> None:
        self.name = name
        self._load = load
        self._frames: Mapping[str, pd.DataFrame] | None = None
        self.available_column = available_column
        self._watermark = _Watermark(state_path)

    def batches(self, now: datetime) -> Iterator[Batch]:
        if self._frames is None:
            self._frames = self._load()
        marks = self._watermark.get()
        for dataset, frame in self._frames.items():
            rows = _release(
                frame, self.available_column, marks.get(dataset), now, f"source {self.name}"
            )
            yield Batch(
                dataset,
                rows,
                f"{self.name} (replay up to {now.isoformat()})",
                on_done=functools.partial(self._watermark.set, dataset, now.isoformat()),
            )


class FileSource(Source):
    """Files matched by glob patterns, read with a format; each file is one origin.

    With ``replay`` the rows of each file are released by their availability, like a stream.
    """

    def __init__(
        self,
        name: str,
        paths: list[str],
        *,
        format: str = "csv",
        dataset: str | None = None,
        replay: bool = False,
        available_column: str = "available_at",
        base: Path | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.name = name
        self.patterns = paths
        self.format = format
        self.dataset = dataset
        self.replay = replay
        self.available_column = available_column
        self.base = base or Path.cwd()
        self._watermark = _Watermark(state_path if replay else None)

    def paths(self) -> list[Path]:
        found: list[Path] = []
        for pattern in self.patterns:
            full = pattern if os.path.isabs(pattern) else str(self.base / pattern)
            matches = sorted(glob.glob(full))
            if not matches:
                raise SourceError(
                    f"source {self.name}: no file matches {pattern}",
                    file=full,
                    field=f"sources.{self.name}.options.paths",
                    rule="each pattern matches at least one file",
                )
            found += [Path(m) for m in matches]
        return found

    def batches(self, now: datetime) -> Iterator[Batch]:
        marks = self._watermark.get()
        for path in track(self.paths(), f"reading {self.name}"):
            for dataset, frame in read_file(path, self.format, self.dataset).items():
                if self.replay:
                    key = f"{path.name}:{dataset}"
                    frame = _release(frame, self.available_column, marks.get(key), now, str(path))
                    yield Batch(
                        dataset,
                        frame,
                        str(path),
                        on_done=functools.partial(self._watermark.set, key, now.isoformat()),
                    )
                else:
                    yield Batch(dataset, frame, str(path))


def _make_files_source(
    name: str, options: Mapping[str, Any], state_path: Path, *, base: Path
) -> FileSource:
    """The built-in ``files`` source type: glob patterns read with a format."""
    where = f"sources.{name}.options"
    allowed = {"paths", "format", "dataset", "replay", "available_column"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(
            f"source {name}: unknown option {unknown[0]!r}",
            field=f"{where}.{unknown[0]}",
            rule="one of " + ", ".join(sorted(allowed)),
        )
    paths = options.get("paths")
    if isinstance(paths, str):
        paths = [paths]
    if not paths or not all(isinstance(p, str) for p in paths):
        raise ConfigError(
            f"source {name}: `paths` must list file patterns",
            field=f"{where}.paths",
            rule="a list of glob patterns",
        )
    return FileSource(
        name,
        list(paths),
        format=str(options.get("format", "csv")),
        dataset=options.get("dataset"),
        replay=bool(options.get("replay")),
        available_column=str(options.get("available_column", "available_at")),
        base=base,
        state_path=state_path,
    )


def make_source(
    name: str, kind: str, options: Mapping[str, Any], *, base: Path, state_dir: Path
) -> Source:
    """Build a configured source of type ``kind``: the built-in ``files``, or one a plugin adds
    (entry point group ``heliograph.sources``: ``make(name, options, state_path) -> Source``)."""
    # Each type's maker is loaded only when used (a plugin's module may be heavy).
    loaders: dict[str, Callable[[], Callable[..., Source]]] = {
        "files": lambda: functools.partial(_make_files_source, base=base),
        **{ep.name: ep.load for ep in entry_points(group="heliograph.sources")},
    }
    if kind not in loaders:
        raise ConfigError(
            f"source {name}: unknown type {kind!r}",
            field=f"sources.{name}.type",
            rule="one of " + ", ".join(sorted(loaders)),
        )
    source: Source = loaders[kind]()(name, dict(options), state_dir / f"{name}.json")
    return source
