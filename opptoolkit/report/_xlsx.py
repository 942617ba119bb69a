"""The report as a workbook: one sheet per view, numbers and dates typed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import replacing
from .._values import is_blank
from ..schema import label_for
from ..sheets import guard_text
from ._html import cell_text, header, kind_of


def write_xlsx(views: dict[str, pd.DataFrame | str], path: Path) -> None:
    """One sheet per view: human headers in bold, frozen, columns sized, numbers and dates typed and formatted.

    Every text cell carries the formula guard of :func:`opptoolkit.write_sheet`, so no company name
    or comment is ever evaluated as a formula.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    formats = {"count": "#,##0", "money": "#,##0.00", "percent": "0.0%", "date": "yyyy-mm-dd"}
    for name, view in views.items():
        ws = wb.create_sheet(name[:31])
        table = pd.DataFrame({"note": [view]}) if isinstance(view, str) else view
        kinds = [kind_of(str(c), table[c]) for c in table.columns]
        headers = [guard_text(header(c)) for c in table.columns]
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        widths = [len(h) for h in headers]
        units = list(table["unit"]) if name == "Headline" and "unit" in table.columns else None
        for i, values in enumerate(table.itertuples(index=False, name=None)):
            out: list[Any] = []
            for j, (v, k) in enumerate(zip(values, kinds, strict=True)):
                if is_blank(v):
                    out.append(None)
                elif k == "date":
                    d = pd.to_datetime(v, errors="coerce", utc=True)
                    out.append(d.date() if not pd.isna(d) and str(table.columns[j]) != "month" else guard_text(str(v)))
                elif isinstance(v, str):
                    out.append(guard_text(label_for(v) if str(table.columns[j]) == "field" else v))
                elif isinstance(v, Decimal):
                    out.append(float(v))
                else:
                    out.append(v.item() if hasattr(v, "item") else v)
                widths[j] = max(widths[j], len(cell_text(v, k)) if not isinstance(v, str) else len(v))
            ws.append(out)
            for j, k in enumerate(kinds):
                c = ws.cell(row=i + 2, column=j + 1)
                fmt = formats.get(k)
                if units is not None and str(table.columns[j]) in ("value", "previous", "change"):
                    fmt = (
                        formats["count"]
                        if units[i] == "count"
                        else formats["percent"]
                        if units[i] == "percent"
                        else formats["money"]
                    )
                if fmt and c.value is not None and not isinstance(c.value, str):
                    c.number_format = fmt
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        ws.freeze_panes = "A2"
    with replacing(path) as tmp:
        wb.save(tmp)
