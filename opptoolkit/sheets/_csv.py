"""The CSV engine: a sheet's cells from a ``.csv`` file (C speed where the file allows), and to one."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._codec import ERRORS, Cells, Table

__all__ = ["read_csv", "text_cells", "write_csv"]


def read_csv(path: Path) -> Table | Cells:
    """Return a CSV's columns (:data:`~._codec.Table`, read whole by Arrow), or its cells row by row.

    The separator is the header line's most frequent of ``,``, ``;`` and tab: Excel saves "CSV" with ``;``
    where the decimal separator is a comma (most of Europe). UnicodeDecodeError for a file not in UTF-8.
    """
    with open(path, encoding="utf-8-sig", newline="") as fh:
        sep = max((",", ";", "\t"), key=fh.readline().count)
        fh.seek(0)
        width = len(next(csv.reader(fh, delimiter=sep), []))
        fast = _csv_columns(_csv_arrow(path, sep, width))
        if fast is not None:
            return fast
        fh.seek(0)  # the csv module, not read_csv: a row with a cell too many shifts nothing
        records: list[Sequence[Any]] = list(csv.reader(fh, delimiter=sep))
    return text_cells(records)


def text_cells(records: list[Sequence[Any]]) -> Table | Cells:
    """Return rows of text cells (header first) as a CSV of them reads: whole columns, else row by row."""
    if records and set(map(len, records)) <= {0, len(records[0])}:  # what Arrow's reader declined
        regular = [r or [""] * len(records[0]) for r in records]
        fast = _csv_columns([pa.array(c, pa.large_string()) for c in zip(*regular, strict=True)])
        if fast is not None:
            return fast
    flagged = {
        (n, j): f"holds the error value {v}"
        for n, r in enumerate(records, start=1)
        for j, v in enumerate(r)
        if v in ERRORS
    }
    return Cells(records, flagged, [])


def write_csv(path: Path, names: Sequence[str], columns: Iterable[Sequence[str]]) -> None:
    """Write the header and the columns' texts as UTF-8 with a BOM (so Excel opens it as UTF-8), CR LF lines."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(names)
        w.writerows(zip(*columns, strict=True))


def _csv_arrow(path: Path, sep: str, width: int) -> list[Any] | None:
    """Return the CSV's columns, header in row 0, as Arrow's CSV reader reads them (in C, all as text).

    None where its reading could differ from the csv module's, which then reads the file.

    Both read RFC 4180 quoting the same way, and an empty line as a record of empty cells (the
    csv module gives it no cell; either is a row left empty). The reader is refused a row whose
    cells differ in number from the header's (it raises), a file that is not UTF-8 (it raises)
    and a cell longer than the csv module accepts (checked here). The whole file is one block:
    a CRLF inside a quoted cell that straddles two blocks loses its LF
    (https://github.com/apache/arrow/issues/51368); block_size is a 32-bit int.
    """
    import pyarrow.csv as pv

    size = path.stat().st_size
    if not width or size >= 2**31 - 1:
        return None
    try:
        table = pv.read_csv(
            path,
            read_options=pv.ReadOptions(use_threads=False, block_size=size + 1, autogenerate_column_names=True),
            parse_options=pv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pv.ConvertOptions(column_types={f"f{i}": pa.large_string() for i in range(width)}),
        )
    except pa.ArrowException:
        return None
    columns = [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in table.columns]
    if len(columns) != width or any(c.type != pa.large_string() for c in columns):
        return None
    limit = csv.field_size_limit()
    if any((pc.max(pc.utf8_length(c)).as_py() or 0) > limit for c in columns):
        return None
    return columns


def _csv_columns(columns: list[Any] | None) -> Table | None:
    """:func:`_read_raw` of a CSV whose rows all have the header's cells, given as whole Arrow text columns.

    The header is in row 0; the result is the body's columns, rows left wholly empty skipped. None for a file
    with an error value or a last header cell left empty, whose problems the row-by-row reading names. The
    checks run over whole columns at C speed.
    """
    if not columns or not len(columns[0]):
        return None
    head = [str(c[0].as_py()) for c in columns]
    if head[-1] == "":
        return None
    errors = pa.array(sorted(ERRORS), pa.large_string())
    if any(pc.any(pc.is_in(c, value_set=errors)).as_py() for c in columns):
        return None
    body = [c[1:] for c in columns]
    filled = pc.not_equal(body[0], "")
    for c in body[1:]:
        filled = pc.or_(filled, pc.not_equal(c, ""))
    keep = np.flatnonzero(filled.to_numpy(zero_copy_only=False))
    if len(keep) < len(filled):
        body = [c.filter(filled) for c in body]
    return head, body, (keep + 2).tolist()
