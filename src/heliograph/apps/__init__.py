"""Reference systems built only from heliograph's public API, independent of each other."""

from __future__ import annotations

__all__: list[str] = []  # each app is a package of its own, imported by name
