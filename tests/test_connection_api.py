"""#28 item 4: one Connection for every public function that reaches the service; its one pacer counts every call.

Through a real boto3 client against the sandbox over HTTP: the pacer's ``calls`` are what the sandbox served.
"""

from __future__ import annotations

import opptoolkit as ot
from opptoolkit import fields as P


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
