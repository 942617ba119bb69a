"""The report as a workbook: one sheet per view, numbers and dates typed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from .._values import is_blank
from ..schema import label_for
from ..sheets import Table, guard_text, write_tables
from ._html import cell_text, header, kind_of

_FORMATS = {"count": "#,##0", "money": "#,##0.00", "percent": "0.0%", "date": "yyyy-mm-dd"}


def write_xlsx(views: dict[str, pd.DataFrame | str], path: Path) -> None:
    """One sheet per view: human headers in bold, frozen, columns sized, numbers and dates typed and formatted.

    Written by the toolkit's one writer of typed cells (:func:`opptoolkit.sheets.write_tables`): every
    text cell carries the formula guard of :func:`opptoolkit.write_sheet`, so no company name or comment
    is ever evaluated as a formula.
    """
    tables = []
    for name, view in views.items():
        table = pd.DataFrame({"note": [view]}) if isinstance(view, str) else view
        kinds = [kind_of(str(c), table[c]) for c in table.columns]
        headers = [header(c) for c in table.columns]
        widths = [len(guard_text(h)) for h in headers]
        units = list(table["unit"]) if name == "Headline" and "unit" in table.columns else None
        rows: list[list[Any]] = []
        formats: dict[tuple[int, int], str] = {}
        for i, values in enumerate(table.itertuples(index=False, name=None)):
            out: list[Any] = []
            for j, (v, k) in enumerate(zip(values, kinds, strict=True)):
                if is_blank(v):
                    out.append(None)
                elif k == "date":
                    d = pd.to_datetime(v, errors="coerce", utc=True)
                    out.append(d.date() if not pd.isna(d) and str(table.columns[j]) != "month" else str(v))
                elif isinstance(v, str):
                    out.append(label_for(v) if str(table.columns[j]) == "field" else v)
                elif isinstance(v, Decimal):
                    out.append(float(v))
                else:
                    out.append(v.item() if hasattr(v, "item") else v)
                widths[j] = max(widths[j], len(cell_text(v, k)) if not isinstance(v, str) else len(v))
                fmt = _FORMATS.get(k)
                if units is not None and str(table.columns[j]) in ("value", "previous", "change"):
                    fmt = _FORMATS[{"count": "count", "percent": "percent"}.get(units[i], "money")]
                if fmt and out[j] is not None and not isinstance(out[j], str):
                    formats[(i, j)] = fmt
            rows.append(out)
        sized = [min(max(w + 2, 8), 60) for w in widths]
        tables.append(Table(name[:31], headers, rows, sized, freeze="A2", cell_formats=formats))
    write_tables(path, tables)
