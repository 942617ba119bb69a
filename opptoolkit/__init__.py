"""opptoolkit: AWS Partner Central opportunities as pandas DataFrames.

Pull opportunities into a frame, edit them in pandas, a spreadsheet or a notebook form, and push
the changes back as complete, valid ``UpdateOpportunity`` calls. The schema (paths, types,
enums, patterns, bounds, required and sensitive flags) is read from botocore's
``partnercentral-selling`` service model at run time.

Examples
--------
>>> import opptoolkit as ot
>>> ot.get_catalog()["LifeCycle.Stage"].enum[:2]
('Prospect', 'Qualified')
"""

from __future__ import annotations

import logging
from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from .api import Pacer, get_client, list_opportunities, read_opportunities
from .exceptions import OpptoolkitError, Problem, ServiceUnreachable, SheetError
from .fake import fake_record, fake_records
from .frame import payload_from_record, to_frame, to_payload, to_payloads
from .ledger import read_ledger
from .mirror import SyncResult, read_mirror, sync_mirror
from .model import Field, FieldCatalog, get_catalog, label_for
from .push import plan_updates, push_updates
from .report import by_close_month, funnel, hygiene, needs_action, outcomes, review_status, spend_amounts, write_report
from .rules import validate_payload
from .sheets import read_sheet, write_sheet

if TYPE_CHECKING:
    from .form import OpportunityForm, edit_opportunity

try:  # the version is written once, in pyproject.toml; the installed package's metadata carries it
    __version__ = _metadata.version(__name__)
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# The form needs ipywidgets, which brings IPython and traitlets: imported when the form is first
# used, so that ``import opptoolkit`` and the CLI do not pay for a notebook they may never open.
_LAZY = {"OpportunityForm": "form", "edit_opportunity": "form"}


def __getattr__(name: str) -> Any:
    """Import the notebook form on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Field",
    "FieldCatalog",
    "OpportunityForm",
    "OpptoolkitError",
    "Pacer",
    "Problem",
    "ServiceUnreachable",
    "SheetError",
    "SyncResult",
    "__version__",
    "by_close_month",
    "edit_opportunity",
    "fake_record",
    "fake_records",
    "funnel",
    "get_catalog",
    "get_client",
    "hygiene",
    "label_for",
    "list_opportunities",
    "needs_action",
    "outcomes",
    "payload_from_record",
    "plan_updates",
    "push_updates",
    "read_ledger",
    "read_mirror",
    "read_opportunities",
    "read_sheet",
    "review_status",
    "spend_amounts",
    "sync_mirror",
    "to_frame",
    "to_payload",
    "to_payloads",
    "validate_payload",
    "write_report",
    "write_sheet",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
