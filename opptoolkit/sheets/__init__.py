r"""Opportunity frames to and from spreadsheets, with nothing drifting on the way (shaped like pandas' ``io/excel``).

* :mod:`._codec` — the cell codec, pure: a frame's values as cell texts and back (formula guard, lists,
  OOXML escapes, times), a sheet's cells decoded into a frame per field of the model;
* :mod:`._csv`, :mod:`._xlsx` — the engines: cells from a ``.csv`` (Arrow's reader, else the ``csv``
  module) and from a workbook (calamine, else openpyxl), and the writer of workbooks of typed cells
  (:func:`to_excel`, the report's workbook);
* :mod:`._layout` — the analyst's workbook: column order and groups, dropdowns, shading, input help;
* :mod:`._base` — the export a workbook remembers (a very hidden sheet);
* :mod:`._results` — the results workbook a push writes beside its input;
* :mod:`._rows` — :class:`SheetRows`, the sheet row number of each row of a frame read from a sheet;
* :mod:`._io` — :func:`read_sheet` and :func:`write_sheet` over all of them, and :func:`write_workbook`: the
  analyst's layout for the toolkit's other sheets (the referrals triage, the leads), read back by
  :func:`read_workbook`.

Every function takes what it needs as arguments: no context variable, no temporary file.
"""

from __future__ import annotations

from ._base import BASE_SHEET, choose_base, read_base, read_base_texts, remembers_export
from ._codec import EXTRA_POLICIES, Extra, Headers, guard_text, unguard
from ._io import frame_catalog, make_workbook, read_sheet, read_texts, read_workbook, write_sheet, write_workbook
from ._layout import WORK_FIRST, Layout, choices, how_to_push, layout, push_command
from ._results import HEADS, RESULTS_SHEET, add_results_sheet, results_path, write_results
from ._rows import SheetRows
from ._xlsx import Table, read_cells, sheet_names, to_excel, workbook_problem, write_tables

__all__ = [
    "BASE_SHEET",
    "EXTRA_POLICIES",
    "HEADS",
    "RESULTS_SHEET",
    "WORK_FIRST",
    "Extra",
    "Headers",
    "Layout",
    "SheetRows",
    "Table",
    "add_results_sheet",
    "choices",
    "choose_base",
    "frame_catalog",
    "guard_text",
    "how_to_push",
    "layout",
    "make_workbook",
    "push_command",
    "read_base",
    "read_base_texts",
    "read_cells",
    "read_sheet",
    "read_texts",
    "read_workbook",
    "remembers_export",
    "results_path",
    "sheet_names",
    "to_excel",
    "unguard",
    "workbook_problem",
    "write_results",
    "write_sheet",
    "write_tables",
    "write_workbook",
]
