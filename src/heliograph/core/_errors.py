"""The exceptions heliograph raises, one tree for the whole package.

```
HelioError
  x CannotRun              a job cannot run now, and says why (heliograph.jobs)
  x CheckError             a check is declared wrongly (a failing check is a result, not an error)
  x ConfigError            helio.toml or a HELIO_ variable is missing or invalid
  x DataError              data cannot be taken in as it is
    + SourceError          a source file or stream cannot be read as its dataset's schema
    + UnknownDatasetError  a dataset the project does not declare or the lake does not hold
  x FootprintError         a version's serving memory cannot be measured (heliograph.serving)
  x LakeError              the lake cannot write, read or move what was asked
    + SnapshotError        a snapshot is unknown, or its files no longer match the manifest
  x LedgerError            the ledger database cannot be reached or written (heliograph.ledger)
  x RegistryError          an unknown model, version or alias (heliograph.registry)
  x ServiceError           a request a service cannot answer: a 4xx (heliograph.serving)
  x TrackingError          the tracking server or store cannot do it (heliograph.tracking)
  x UsageError             a command asked for something that does not exist (a job, a source)
```

Every error carries a one-line ``headline`` a person can act on, and where it applies the
``file``, ``field`` and ``rule`` that were broken. The CLI prints these; it never prints a
stack trace for a ``HelioError``. Each package defines its own errors beside the code that
raises them; the tree above lists them all, and a test (``tests/test_project.py``) fails when an
exception class is added without being drawn here.
"""

from __future__ import annotations

__all__ = [
    "CheckError",
    "ConfigError",
    "DataError",
    "HelioError",
    "LakeError",
    "SnapshotError",
    "SourceError",
    "UnknownDatasetError",
    "UsageError",
]


class HelioError(Exception):
    """Root of every error heliograph raises on purpose.

    Example::

        raise SourceError("not a number", file="BE.csv", field="price", rule="type double")
    """

    def __init__(
        self,
        headline: str,
        *,
        file: str | None = None,
        field: str | None = None,
        rule: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.headline = headline
        self.file = file
        self.field = field
        self.rule = rule
        self.hint = hint
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [self.headline]
        where = [
            f"{k}: {v}"
            for k, v in (("file", self.file), ("field", self.field), ("rule", self.rule))
            if v is not None
        ]
        if where:
            parts.append("(" + "; ".join(where) + ")")
        text = " ".join(parts)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(HelioError):
    """The configuration (helio.toml or a HELIO_ variable) is missing or invalid."""


class DataError(HelioError):
    """Data cannot be taken in as it is."""


class SourceError(DataError):
    """A source cannot be read as its dataset's schema: malformed file, missing column, bad type."""


class UnknownDatasetError(DataError):
    """A dataset name that the project does not declare or the lake does not hold."""


class LakeError(HelioError):
    """The lake cannot do what was asked (a write, a read, a move)."""


class SnapshotError(LakeError):
    """A snapshot is unknown, or its files no longer match the manifest."""


class CheckError(HelioError):
    """A check is declared wrongly. A check that *fails* is a result, never an exception."""


class UsageError(HelioError):
    """A command asked for something that does not exist, such as an unknown job or source."""
