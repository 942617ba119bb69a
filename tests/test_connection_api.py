"""#28 item 4: one Connection for every public function that reaches the service; its one pacer counts every call.

Through a real boto3 client against the sandbox over HTTP: the pacer's ``calls`` are what the sandbox served.
"""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
import sys
from collections.abc import Callable
from typing import Any

import opptoolkit as ot
from opptoolkit import fields as P
from opptoolkit.connection import _KEYWORDS


def _conn(sb, **kw) -> ot.Connection:
    return ot.connect("Sandbox", endpoint_url=sb.endpoint_url, progress=False, **kw)


def _pending(sb) -> list[str]:
    return [r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission"]


def test_the_forms_open_save_and_reload_go_through_the_connection_given_it(sb, tmp_path):
    conn = _conn(sb, reads_per_second=1000, writes_per_second=1000)
    first, second = _pending(sb)[:2]
    served = sum(sb.service.calls.values())
    form = ot.edit_opportunity(first, conn, ledger=tmp_path / "l")
    assert form.connection is conn and conn.pacer.calls == {"GetOpportunity": 1}
    form.set(P.NEXT_STEPS, "Through one connection")
    assert form.save().startswith("Saved 1 change")
    # the push's read and write, and the form's read back of the record as saved
    assert conn.pacer.calls == {"GetOpportunity": 3, "UpdateOpportunity": 1}
    form.reload()
    form.open(second)
    assert conn.pacer.calls == {"GetOpportunity": 5, "UpdateOpportunity": 1}
    assert sum(sb.service.calls.values()) - served == 6  # nothing went around the pacer


def test_the_grids_push_its_read_back_and_its_form_count_on_the_one_connection(sb, tmp_path):
    conn = _conn(sb, reads_per_second=1000, writes_per_second=1000)
    df = ot.read_opportunities(conn, summary_only=True)
    listed = dict(conn.pacer.calls)
    grid = ot.edit_opportunities(df, conn, ledger=tmp_path / "l")
    assert grid.connection is conn
    rows = df.index[df[P.REVIEW_STATUS] == "Pending Submission"]
    grid.set(rows[0], P.NEXT_STEPS, "Pushed from the grid")
    assert grid.push()["status"].tolist() == ["succeeded"]
    # the push's read and write, then the grid's read back of the pushed row
    assert conn.pacer.calls == {**listed, "GetOpportunity": 2, "UpdateOpportunity": 1}
    grid.pick(rows[1])
    form = grid.open_form()
    assert form.connection is conn and conn.pacer.calls["GetOpportunity"] == 3


def test_the_grid_and_the_form_keyword_forms_make_one_connection_each(sb, tmp_path):
    client = sb.client()
    df = ot.read_opportunities("Sandbox", client=client, summary_only=True, progress=False)
    grid = ot.edit_opportunities(df, "Sandbox", client=client, ledger=tmp_path / "l")
    assert grid.connection is not None and grid.connection.client is client
    form = grid.open_form(int(df.index[0]))
    assert form.connection is grid.connection  # the grid's form counts on the grid's pacer
    offline = ot.edit_opportunities(df, "Sandbox")  # no client, no endpoint: the grid plans only
    assert offline.connection is None and offline.catalog == "Sandbox"
    form = ot.edit_opportunity(df.at[0, "Id"], "Sandbox", endpoint_url=sb.endpoint_url, ledger=tmp_path / "l")
    assert form.connection is not None and form.connection.pacer.calls == {"GetOpportunity": 1}


def test_list_opportunities_pages_through_the_connections_pacer(sb):
    conn = _conn(sb, reads_per_second=1000)
    n = len(sb.records("Sandbox"))
    bucket, waits = conn.pacer._read, []
    acquire = bucket.acquire

    def counted() -> None:  # each wait for the read bucket, as the pacer asks for it before an HTTP attempt
        waits.append(1)
        acquire()

    bucket.acquire = counted  # type: ignore[method-assign]
    summaries = ot.list_opportunities(conn, page_size=10)
    assert len(summaries) == n > 10
    pages = -(-n // 10)
    assert conn.pacer.calls == {"ListOpportunities": pages}
    assert len(waits) == pages  # every page waited for the read bucket
    assert [s["Id"] for s in ot.list_opportunities(conn, identifiers=[summaries[0]["Id"]])] == [summaries[0]["Id"]]
    assert conn.pacer.calls == {"ListOpportunities": pages + 1} and len(waits) == pages + 1


def _public_callables() -> dict[str, Callable[..., Any]]:
    """Every function and class a module of the package names in its ``__all__``, by its dotted name."""
    modules = [ot] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(ot.__path__, "opptoolkit.")]
    found = {}
    for module in modules:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__.startswith("opptoolkit"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def _reaching_the_service() -> dict[str, inspect.Signature]:
    """The public callables that reach the service in a catalog: a ``catalog`` and, as a convenience, ``client=``.

    What makes a connection (``connect``: it returns one) is its own source, not a user of one.
    """
    out = {}
    for name, obj in _public_callables().items():
        try:
            sig = inspect.signature(obj)
        except ValueError:  # an exception class: no signature of its own
            continue
        client = sig.parameters.get("client")
        keywords = "catalog" in sig.parameters and client is not None and client.default is None
        if keywords and "Connection" not in str(sig.return_annotation):
            out[name] = sig
    return out


def test_every_public_function_that_reaches_a_catalog_takes_a_connection():
    verbs = _reaching_the_service()
    assert {"opptoolkit.client.read_opportunities", "opptoolkit.form.edit_opportunity"} <= verbs.keys()
    refused = sorted(
        name for name, sig in verbs.items()
        if "Connection" not in (p.strip() for p in str(sig.parameters["catalog"].annotation).split("|"))
    )  # fmt: skip
    assert not refused, f"take `catalog: Catalog | Connection` (@takes_connection) in {refused}"


def test_a_verbs_connection_keywords_default_to_what_connect_makes():
    """The keywords reach :func:`opptoolkit.connect` only when given, so a default of the verb's own would lie."""
    made = inspect.signature(ot.connect).parameters
    lying = sorted(
        f"{name}({p.name}={p.default!r}, connect's: {made[p.name].default!r})"
        for name, sig in _reaching_the_service().items()
        for p in sig.parameters.values()
        if p.name in _KEYWORDS and p.default != made[p.name].default
    )
    assert not lying, f"default these as connect does: {lying}"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_none_shows_a_bar_on_a_terminal_and_false_none(sb, monkeypatch):
    """The CLI's ``progress=None`` ("a bar on a terminal, none in cron") is tqdm's ``disable=None``, not off."""
    ids = [r["Id"] for r in sb.records("Sandbox")][:2]
    shown = {}
    for progress in (None, True, False):
        monkeypatch.setattr(sys, "stderr", _Terminal())
        conn = ot.connect("Sandbox", endpoint_url=sb.endpoint_url, reads_per_second=1000, progress=progress)
        ot.read_opportunities(conn, identifiers=ids)
        shown[progress] = "GetOpportunity: 100%" in sys.stderr.getvalue()
    assert shown == {None: True, True: True, False: False}
