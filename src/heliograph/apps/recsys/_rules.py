"""Business rules after retrieval, declared in configuration, not written into the code.

A retrieval step proposes candidates (the ``candidates`` nearest items for a known user; the
most popular items of their recent categories for a new one); the rules then shape the list:

1. ``exclude``: never what the user already reviewed (always), nor an unavailable item
   (``exclude_unavailable``), nor an item on the ``blocklist``;
2. ``diversity``: ``{kind = "max_per_category", n = 3}`` keeps at most ``n`` items of a
   category; ``{kind = "mmr", lambda = 0.7}`` re-ranks the candidates by maximal marginal
   relevance (relevance against similarity to what is already chosen: cosine of embeddings,
   or same category);
3. ``new_items``: ``{slots = 1, max_age_days = 14}`` gives a newly released item (unknown to
   the model) the last ``slots`` places, preferring the user's recent categories.

Each returned :class:`Recommendation` names the rules that shaped it: where it came from
(``retrieval``, ``cold_start``, ``new_item``) and whether diversity moved it into the list.

>>> rules = Rules.from_config({"blocklist": ["i00042"], "diversity": {"kind": "mmr"}})
>>> rules.diversity.kind
'mmr'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from heliograph.core import ConfigError

from ._catalogue import Catalogue, UserHistory

__all__ = [
    "MMR",
    "ColdStart",
    "MaxPerCategory",
    "NewItems",
    "Recommendation",
    "Rules",
    "apply_rules",
]

RETRIEVAL = "retrieval"
COLD_START = "cold_start"
NEW_ITEM = "new_item"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class MaxPerCategory(_Spec):
    kind: Literal["max_per_category"] = "max_per_category"
    n: int = Field(3, ge=1)


class MMR(_Spec):
    kind: Literal["mmr"] = "mmr"
    lambda_: float = Field(0.7, alias="lambda", ge=0.0, le=1.0)


class ColdStart(_Spec):
    recent_categories: int = Field(3, ge=1)


class NewItems(_Spec):
    slots: int = Field(1, ge=1)
    max_age_days: float = Field(14.0, gt=0)


class Rules(_Spec):
    """The declared rules (``[recsys.rules]`` in configuration, or a mapping)."""

    candidates: int = Field(50, ge=1)
    exclude_unavailable: bool = True
    blocklist: frozenset[str] = frozenset()
    diversity: Annotated[MaxPerCategory | MMR, Field(discriminator="kind")] | None = None
    cold_start: ColdStart = ColdStart()
    new_items: NewItems | None = None

    @classmethod
    def from_config(cls, data: Mapping[str, Any], where: str = "recsys.rules") -> Rules:
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function"))
            raise ConfigError(
                f"{where}: {first['msg']}",
                field=f"{where}.{loc}" if loc else where,
                rule=_RULE.get(loc.split(".")[0], "see docs/recsys.md, Business rules"),
            ) from None


_RULE = {
    "candidates": "a whole number of at least 1",
    "diversity": 'kind = "max_per_category" (n) or "mmr" (lambda in [0, 1])',
    "new_items": "slots >= 1, max_age_days > 0",
    "cold_start": "recent_categories >= 1",
    "blocklist": "a list of item ids",
}


@dataclass(frozen=True)
class Recommendation:
    item: str
    score: float
    rules: tuple[str, ...]


def _similarity(
    a: str, b: str, catalogue: Catalogue, vectors: Mapping[str, np.ndarray] | None
) -> float:
    if vectors is not None and a in vectors and b in vectors:
        va, vb = vectors[a], vectors[b]
        denom = float(np.linalg.norm(va) * np.linalg.norm(vb)) or 1.0
        return float(va @ vb) / denom
    ca, cb = catalogue.category.get(a), catalogue.category.get(b)
    return 1.0 if ca is not None and ca == cb else 0.0


def _mmr(
    pool: list[tuple[str, float]],
    k: int,
    spec: MMR,
    catalogue: Catalogue,
    vectors: Mapping[str, np.ndarray] | None,
) -> list[tuple[str, float]]:
    scores = np.array([s for _, s in pool], dtype=float)
    span = float(scores.max() - scores.min()) or 1.0
    relevance = (scores - scores.min()) / span
    chosen: list[int] = []
    most_similar = np.full(len(pool), -np.inf)
    while len(chosen) < min(k, len(pool)):
        penalty = np.where(np.isfinite(most_similar), most_similar, 0.0)
        value = spec.lambda_ * relevance - (1 - spec.lambda_) * penalty
        value[chosen] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        for j in range(len(pool)):
            sim = _similarity(pool[j][0], pool[best][0], catalogue, vectors)
            most_similar[j] = max(most_similar[j], sim)
    return [pool[i] for i in chosen]


def apply_rules(
    candidates: Sequence[tuple[str, float]],
    *,
    k: int,
    rules: Rules,
    user: UserHistory,
    catalogue: Catalogue,
    origin: str = RETRIEVAL,
    vectors: Mapping[str, np.ndarray] | None = None,
) -> list[Recommendation]:
    """Shape ``candidates`` (item, score; best first) into at most ``k`` recommendations."""
    pool = [
        (item, float(score))
        for item, score in candidates
        if item not in user.reviewed
        and item not in rules.blocklist
        and not (rules.exclude_unavailable and not catalogue.is_available(item))
    ]
    pool = list(dict.fromkeys(pool))  # a candidate proposed twice counts once
    slots = rules.new_items.slots if rules.new_items else 0
    room = max(k - slots, 0)
    plain = {item for item, _ in pool[:room]}
    kind = rules.diversity.kind if rules.diversity else None
    if isinstance(rules.diversity, MaxPerCategory):
        per: dict[str, int] = {}
        kept = []
        for item, score in pool:
            cat = catalogue.category.get(item, f"item:{item}")
            if per.get(cat, 0) < rules.diversity.n:
                per[cat] = per.get(cat, 0) + 1
                kept.append((item, score))
        chosen = kept[:room]
    elif isinstance(rules.diversity, MMR):
        chosen = _mmr(pool, room, rules.diversity, catalogue, vectors)
    else:
        chosen = pool[:room]
    out = [
        Recommendation(
            item,
            score,
            (origin,) if item in plain or kind is None else (origin, f"diversity:{kind}"),
        )
        for item, score in chosen
    ]
    if rules.new_items is not None:
        out += _new_items(out, pool, k - len(out), rules, user, catalogue)
    if len(out) < k:  # a rule left room: fill from the remaining candidates, in order
        taken = {r.item for r in out}
        fits = _fitter(out, rules, catalogue)
        out += [
            Recommendation(item, score, (origin,))
            for item, score in pool
            if item not in taken and fits(item)
        ][: k - len(out)]
    return out[:k]


def _fitter(out: list[Recommendation], rules: Rules, catalogue: Catalogue) -> Callable[[str], bool]:
    """Whether an item still fits beside ``out`` (at most ``n`` of a category): the counts of
    ``out`` are taken once, not once per item asked about."""
    if not isinstance(rules.diversity, MaxPerCategory):
        return lambda item: True
    limit = rules.diversity.n
    counts = Counter(catalogue.category.get(r.item) for r in out)

    def fits(item: str) -> bool:
        cat = catalogue.category.get(item)
        return cat is None or counts[cat] < limit

    return fits


def _new_items(
    out: list[Recommendation],
    pool: list[tuple[str, float]],
    slots: int,
    rules: Rules,
    user: UserHistory,
    catalogue: Catalogue,
) -> list[Recommendation]:
    assert rules.new_items is not None
    if slots <= 0:
        return []
    taken = {r.item for r in out}
    fits = _fitter(out, rules, catalogue)
    fresh = [
        i
        for i in catalogue.new_items(rules.new_items.max_age_days)
        if i not in taken
        and i not in user.reviewed
        and i not in rules.blocklist
        and not (rules.exclude_unavailable and not catalogue.is_available(i))
        and fits(i)
    ]
    liked = set(user.recent_categories)
    fresh.sort(key=lambda i: catalogue.category.get(i) not in liked)  # stable: newest first
    floor = min((r.score for r in out), default=0.0)
    return [Recommendation(i, floor, (NEW_ITEM,)) for i in fresh[:slots]]
