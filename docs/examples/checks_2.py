from typing import Literal

from heliograph.checks import RowCheck, mostly_field, quote


class Positive(RowCheck):
    """Every value of ``column`` is above zero."""

    type: Literal["positive"] = "positive"
    column: str
    mostly: float = mostly_field()

    def predicate(self) -> tuple[str, str, str]:
        col = quote(self.column)
        return f"{col} IS NOT NULL", f"{col} <= 0", "non-null values"

    def columns_used(self) -> list[str]:
        return [self.column]
