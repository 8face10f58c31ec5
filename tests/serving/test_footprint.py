"""What a version's memory measurement imports before its baseline: the code its pickle names."""

from __future__ import annotations

import pickle
from datetime import timedelta
from fractions import Fraction

from heliograph.serving._footprint import _pickled_modules


def test_the_modules_a_pickle_names_are_read_without_unpickling_it() -> None:
    data = pickle.dumps({"a": timedelta(hours=1), "b": [Fraction(1, 3)]}, protocol=4)
    assert _pickled_modules(data) == ["datetime", "fractions"]
    old = pickle.dumps(Fraction(1, 3), protocol=2)  # GLOBAL, not STACK_GLOBAL
    assert _pickled_modules(old) == ["fractions"]
    assert _pickled_modules(pickle.dumps([1.0, "x"])) == []
