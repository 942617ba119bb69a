"""opptoolkit: AWS Partner Central opportunities as pandas DataFrames.

Pull opportunities into a frame, edit them in pandas, a spreadsheet or a notebook form, and push
the changes back as complete, valid ``UpdateOpportunity`` calls. The schema (paths, types,
enums, patterns, bounds, required and sensitive flags) is read from botocore's
``partnercentral-selling`` service model at run time.

Examples
--------
>>> import opptoolkit as ot
>>> ot.get_schema()["LifeCycle.Stage"].enum[:2]
('Prospect', 'Qualified')
"""

from __future__ import annotations

import importlib
import logging
from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what mypy and an editor see; at run time each name is imported on first use (below)
    from . import report
    from ._status import Reason, Status
    from ._values import Blank
    from .client import list_opportunities, read_aws_summaries, read_opportunities
    from .connection import Connection, Pacer, connect, get_client
    from .engagements import read_engagements
    from .exceptions import OpptoolkitError, Problem, ReportError, ServiceUnreachable, SheetError
    from .form import OpportunityForm, edit_opportunity
    from .frame import payload_from_record, snapshot_time, to_frame, to_payload, to_payloads
    from .grid import OpportunityGrid, edit_opportunities
    from .io import write_results
    from .leads import push_leads, read_leads, write_leads
    from .ledger import read_ledger
    from .mirror import SyncResult, read_mirror, snapshots, sync_engagements, sync_mirror, vacuum_mirror
    from .partner import assign_opportunities, read_aws_products, read_solutions, submit_opportunities
    from .push import plan_updates, push_updates
    from .referrals import push_decisions, read_invitations, read_triage, write_triage
    from .report import write_report
    from .rules import validate_payload
    from .schema import Catalog, Field, Schema, get_schema, label_for
    from .sheets import Extra, Headers, read_sheet, to_excel, write_sheet
    from .template import write_template

try:  # the version is written once, in pyproject.toml; the installed package's metadata carries it
    __version__ = _metadata.version(__name__)
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# Each public name's module, imported when the name is first used (PEP 562), so that ``import opptoolkit`` and the
# command load only what they use: pandas, the report's charts, openpyxl, and the notebook form's ipywidgets (with
# IPython and traitlets) are paid for by the code that needs them. The imports above say the same for the type
# checker; tests/test_import.py holds the two to each other.
_HOMES: dict[str, tuple[str, ...]] = {
    "_status": ("Reason", "Status"),
    "_values": ("Blank",),
    "client": ("list_opportunities", "read_aws_summaries", "read_opportunities"),
    "connection": ("Connection", "Pacer", "connect", "get_client"),
    "engagements": ("read_engagements",),
    "exceptions": ("OpptoolkitError", "Problem", "ReportError", "ServiceUnreachable", "SheetError"),
    "form": ("OpportunityForm", "edit_opportunity"),
    "frame": ("payload_from_record", "snapshot_time", "to_frame", "to_payload", "to_payloads"),
    "grid": ("OpportunityGrid", "edit_opportunities"),
    "io": ("write_results",),
    "leads": ("push_leads", "read_leads", "write_leads"),
    "ledger": ("read_ledger",),
    "mirror": ("SyncResult", "read_mirror", "snapshots", "sync_engagements", "sync_mirror", "vacuum_mirror"),
    "partner": ("assign_opportunities", "read_aws_products", "read_solutions", "submit_opportunities"),
    "push": ("plan_updates", "push_updates"),
    "referrals": ("push_decisions", "read_invitations", "read_triage", "write_triage"),
    "report": ("report", "write_report"),
    "rules": ("validate_payload",),
    "schema": ("Catalog", "Field", "Schema", "get_schema", "label_for"),
    "sheets": ("Extra", "Headers", "read_sheet", "to_excel", "write_sheet"),
    "template": ("write_template",),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562); ``report`` is a module of its own."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{home}", __name__)
    value = module if name == home else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Return the module's names and every public name, imported or not yet (``dir()``, ``help()``, completion)."""
    return sorted({*globals(), *__all__})


# The verbs of the main flow (pull -> frame -> sheet or form -> plan -> push -> ledger), the
# schema, and the types and errors they use. Report views live in ``opptoolkit.report``; test data
# generators in ``opptoolkit.testing``; the local service in ``opptoolkit.sandbox``.
__all__ = [
    "Blank",
    "Catalog",
    "Connection",
    "Extra",
    "Field",
    "Headers",
    "OpportunityForm",
    "OpportunityGrid",
    "OpptoolkitError",
    "Pacer",
    "Problem",
    "Reason",
    "ReportError",
    "Schema",
    "ServiceUnreachable",
    "SheetError",
    "Status",
    "SyncResult",
    "__version__",
    "assign_opportunities",
    "connect",
    "edit_opportunities",
    "edit_opportunity",
    "get_client",
    "get_schema",
    "label_for",
    "list_opportunities",
    "payload_from_record",
    "plan_updates",
    "push_decisions",
    "push_leads",
    "push_updates",
    "read_aws_products",
    "read_aws_summaries",
    "read_engagements",
    "read_invitations",
    "read_leads",
    "read_ledger",
    "read_mirror",
    "read_opportunities",
    "read_sheet",
    "read_solutions",
    "read_triage",
    "report",
    "snapshot_time",
    "snapshots",
    "submit_opportunities",
    "sync_engagements",
    "sync_mirror",
    "to_excel",
    "to_frame",
    "to_payload",
    "to_payloads",
    "vacuum_mirror",
    "validate_payload",
    "write_leads",
    "write_report",
    "write_results",
    "write_sheet",
    "write_template",
    "write_triage",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
