"""A TOML file a command is given (``--policy``, ``--sweep``): read it, or say why not.

``helio.toml`` itself is read by ``load_settings`` (its errors are ``ConfigError`` with a hint);
a spec file named on the command line is a ``UsageError`` naming the option, so a missing
file or bad TOML reads the same whichever command was given it::

    data = read_toml_file(Path("policies/weekly.toml"), what="policy", option="--policy")
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ._errors import UsageError

__all__ = ["read_toml_file"]


def read_toml_file(path: Path, *, what: str, option: str) -> dict[str, Any]:
    """The table in the TOML file at ``path``; a ``UsageError`` naming ``option`` when there
    is no such file or it is not TOML (``what`` names the kind of file: "policy", "sweep")."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise UsageError(f"no {what} file at {path}", field=option, rule="a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"{path} is not valid TOML: {exc}", file=str(path), field=option, rule="TOML"
        ) from None
