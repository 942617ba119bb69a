"""Which row of a sheet each row of a frame came from: :class:`SheetRows`, the one shape and the one reader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import pandas as pd

__all__ = ["SHEET_ROWS", "SheetRows"]

#: The key in ``DataFrame.attrs`` under which a frame read from a sheet carries its :class:`SheetRows`.
SHEET_ROWS = "sheet_rows"


class SheetRows(NamedTuple):
    """The sheet row number (header = 1) of each row of a frame read from a sheet, and the Id read there.

    A frame keeps it in ``attrs``, as a tuple: pandas writes ``attrs`` into a Parquet file's metadata
    as JSON (a list there, which :meth:`of` reads back) and deep-copies them on every operation (this
    value is immutable, so the copy is the value itself, whatever the sheet's length).

    Examples
    --------
    >>> rows = SheetRows((2, 3, 5), ("O1", "O2", None))
    >>> df = rows.attach(pd.DataFrame({"Id": ["O1", "O2", None]}))
    >>> SheetRows.of(df.iloc[[2, 0]]).labels(df.iloc[[2, 0]])  # rows kept, as the sheet numbers them
    ['5', '2']
    >>> SheetRows.of(df).labels(df.assign(Id=["O9", "O2", None]))  # row 0 now holds another record
    ['0', '3', '5']
    """

    numbers: tuple[int, ...]
    ids: tuple[str | None, ...]

    def __deepcopy__(self, memo: dict[int, Any]) -> SheetRows:
        return self  # immutable: pandas' deep copy of attrs on every operation costs nothing

    @classmethod
    def of(cls, df: pd.DataFrame) -> SheetRows | None:
        """Return the rows ``df`` carries (from :func:`opptoolkit.read_sheet`), or None.

        Also when they went through a Parquet file, where they are lists.
        """
        found = df.attrs.get(SHEET_ROWS)
        if isinstance(found, cls):
            return found
        if (
            isinstance(found, Sequence)
            and len(found) == 2
            and all(isinstance(p, Sequence) and not isinstance(p, str) for p in found)
        ):
            numbers, ids = found
            if len(numbers) == len(ids):
                return cls(tuple(int(n) for n in numbers), tuple(None if i is None else str(i) for i in ids))
        return None

    def attach(self, df: pd.DataFrame) -> pd.DataFrame:
        """Carry these rows in ``df.attrs`` (``df`` itself, for chaining)."""
        df.attrs[SHEET_ROWS] = self
        return df

    def number(self, position: int) -> int | None:
        """Return the sheet row of the frame's row at ``position`` as read (0, 1, ...), or None past the end."""
        return self.numbers[position] if 0 <= position < len(self.numbers) else None

    def labels(self, df: pd.DataFrame, ids: Sequence[str | None] | None = None) -> list[str]:
        """Name each row of ``df`` by its sheet row number, else (a row the sheet did not give) by its label.

        A row keeps its number while its label is still its position as read and it holds the Id read
        there (``ids``: the frame's Ids as text, default its ``Id`` column); a frame sorted, filtered or
        relabelled since names each row it cannot place by its label.
        """
        if ids is None:
            ids = [None if pd.isna(v) else str(v) for v in df["Id"]] if "Id" in df.columns else [None] * len(df)
        out = []
        for label, ident in zip(df.index, ids, strict=True):
            at = label if isinstance(label, int) and 0 <= label < len(self.numbers) else None
            out.append(str(self.numbers[at]) if at is not None and self.ids[at] == ident else str(label))
        return out
