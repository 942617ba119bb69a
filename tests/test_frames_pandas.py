"""Every frame the toolkit returns survives the pandas calls an analyst types first.

Each frame comes from the sandbox over HTTP (real boto3), as an analyst gets it. Its ``attrs`` hold only
JSON-safe values (pandas writes them into a Parquet file's metadata as JSON, compares them in ``concat``
and ``merge`` and deep-copies them on every operation), and ``to_parquet``, ``to_csv``, ``pd.concat``,
``merge`` and ``astype(str)`` all work on it.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit import report
from opptoolkit.partner import SOLUTIONS_COLUMN
from opptoolkit.report import aws_vs_partner, referral_decisions, referrals_by_expiry
from opptoolkit.rules import submission_problems
from opptoolkit.sandbox import SEED_DAY, Sandbox, SandboxConfig

FAST: dict[str, Any] = dict(reads_per_second=1000, progress=False)
WRITES: dict[str, Any] = dict(writes_per_second=1000, **FAST)
CATALOG = "Sandbox"


class Frames:
    """The frames of one sandbox, each made on first use (several share their inputs)."""

    def __init__(self, sb: Sandbox, folder: Path) -> None:
        self.sb, self.folder, self._made = sb, folder, {}
        self.url = sb.endpoint_url

    def get(self, name: str) -> pd.DataFrame:
        if name not in self._made:
            self._made[name] = getattr(self, name)()
        return self._made[name]  # type: ignore[no-any-return]

    def _ids(self, n: int, ready: bool) -> list[str]:
        # Ready: AWS takes the submission and the record has a solution to edit; not ready: AWS refuses it.
        def is_ready(r: dict[str, Any]) -> bool:
            return not submission_problems(r) and bool((r.get("RelatedEntityIdentifiers") or {}).get("Solutions"))

        return [r["Id"] for r in self.sb.records(CATALOG) if is_ready(r) == ready][:n]

    # -- reads
    def read_opportunities(self) -> pd.DataFrame:
        return ot.read_opportunities(CATALOG, endpoint_url=self.url, **FAST)

    def read_opportunities_summary_only(self) -> pd.DataFrame:
        return ot.read_opportunities(CATALOG, endpoint_url=self.url, summary_only=True, **FAST)

    def read_opportunities_aws_summary(self) -> pd.DataFrame:
        ids = self.get("read_opportunities")["Id"].head(10).tolist()
        return ot.read_opportunities(CATALOG, endpoint_url=self.url, identifiers=ids, aws_summary=True, **FAST)

    def read_mirror(self) -> pd.DataFrame:
        mirror = self.folder / "mirror"
        ot.sync_mirror(mirror, CATALOG, endpoint_url=self.url, **FAST)
        ot.sync_mirror(mirror, CATALOG, endpoint_url=self.url, **FAST)  # two snapshots
        return ot.read_mirror(mirror)

    def read_mirror_as_of(self) -> pd.DataFrame:
        mirror = self.folder / "mirror"
        self.get("read_mirror")
        return ot.read_mirror(mirror, as_of=ot.snapshots(mirror)[0])

    def read_sheet_xlsx(self) -> pd.DataFrame:
        path = ot.write_sheet(self.get("read_opportunities"), self.folder / "pipeline.xlsx", base=True)
        wb = openpyxl.load_workbook(path)
        ws = wb.worksheets[0]
        title = [c.value for c in ws[1]].index("Project title") + 1
        ws.cell(2, title).value = 12345  # a number typed into a text field: listed in sheet_warnings
        wb.save(path)
        df = ot.read_sheet(path)
        assert df.attrs["sheet_warnings"], "the frame should carry a warning to test"
        return df

    def read_sheet_csv(self) -> pd.DataFrame:
        return ot.read_sheet(ot.write_sheet(self.get("read_opportunities"), self.folder / "pipeline.csv"))

    def to_frame(self) -> pd.DataFrame:
        c = self.sb.client()
        return ot.to_frame([c.get_opportunity(Catalog=CATALOG, Identifier=i) for i in self._ids(5, ready=True)])

    # -- writes
    def _edited(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        ids = self._ids(3, ready=True)
        base = ot.read_opportunities(CATALOG, endpoint_url=self.url, identifiers=ids, **FAST)
        edited = base.copy()
        edited.at[0, SOLUTIONS_COLUMN] = [*edited.at[0, SOLUTIONS_COLUMN], "S-0000004"]
        edited.at[1, "Project.Title"] = "Frames survive pandas"
        edited.at[2, "Project.CustomerBusinessProblem"] = "x"  # too short: invalid
        return base, edited

    def plan_updates(self) -> pd.DataFrame:
        base, edited = self._edited()
        return ot.plan_updates(edited, CATALOG, base=base)

    def push_updates(self) -> pd.DataFrame:
        base, edited = self._edited()
        return ot.push_updates(
            edited, CATALOG, base=base, ledger=self.folder / "ledger", endpoint_url=self.url, **WRITES
        )

    def read_ledger(self) -> pd.DataFrame:
        self.get("push_updates")
        return ot.read_ledger(self.folder / "ledger")

    def read_solutions(self) -> pd.DataFrame:
        return ot.read_solutions(CATALOG, endpoint_url=self.url, reads_per_second=1000)

    def submit_opportunities(self) -> pd.DataFrame:
        ids = [*self._ids(1, ready=True), *self._ids(1, ready=False)]
        return ot.submit_opportunities(ids, CATALOG, involvement_type="Co-Sell", ledger=self.folder / "submit",
                                       endpoint_url=self.url, **WRITES)  # fmt: skip

    def assign_opportunities(self) -> pd.DataFrame:
        ids = self._ids(1, ready=True)
        who = {
            "FirstName": "Ana",
            "LastName": "Silva",
            "Email": "ana@example.com",
            "BusinessTitle": "PartnerAccountManager",
        }
        return ot.assign_opportunities(ids, CATALOG, ledger=self.folder / "assign", assignee=who, endpoint_url=self.url,
                                       **WRITES)  # fmt: skip

    def read_invitations(self) -> pd.DataFrame:
        return ot.read_invitations(CATALOG, endpoint_url=self.url, **FAST)

    def read_triage(self) -> pd.DataFrame:
        return ot.read_triage(ot.write_triage(self.get("read_invitations"), self.folder / "triage.xlsx"))

    def push_decisions(self) -> pd.DataFrame:
        triage = self.get("read_triage").copy()
        pending = triage.index[triage["Status"] == "PENDING"]
        triage.loc[pending[0], "Decision"] = "accept"
        triage.loc[pending[1], ["Decision", "RejectionReason"]] = ["reject", "not a documented reason"]
        return ot.push_decisions(triage, CATALOG, ledger=self.folder / "decisions", endpoint_url=self.url, **WRITES)

    def read_aws_summaries(self) -> pd.DataFrame:
        ids = self.get("read_opportunities")["Id"].head(10).tolist()
        return ot.read_aws_summaries(CATALOG, ids, endpoint_url=self.url, **FAST)

    # -- report views
    def write_report(self) -> pd.DataFrame:
        views = ot.write_report(
            self.get("read_mirror"),
            self.folder / "report.html",
            xlsx=self.folder / "report.xlsx",
            since=self.get("read_mirror_as_of"),
            invitations=self.get("read_invitations"),
            today=SEED_DAY,
        )
        frames = [v for v in views.values() if isinstance(v, pd.DataFrame)]
        assert len(frames) >= 8
        for v in frames:  # each view as the report returned it, checked here too
            _survives_pandas(v)
        return frames[0]


_VIEWS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "funnel": report.funnel,
    "by_close_month": report.by_close_month,
    "review_status": report.review_status,
    "needs_action": report.needs_action,
    "hygiene": lambda df: report.hygiene(df, today=SEED_DAY),
    "outcomes": report.outcomes,
    "headline": lambda df: report.headline(df, today=SEED_DAY),
    "to_act_on": lambda df: report.to_act_on(df, today=SEED_DAY),
    "spend_amounts": report.spend_amounts,
    "aws_vs_partner": aws_vs_partner,
}

FRAMES = [name for name in vars(Frames) if not name.startswith("_") and name != "get"]


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    with Sandbox(config=SandboxConfig.fast(), as_of=SEED_DAY) as sb:
        yield Frames(sb, tmp_path_factory.mktemp("frames"))


def _json_safe(v: Any) -> bool:
    """A value JSON carries as it is: text, numbers, booleans, None, and lists and dicts of them."""
    if v is None or isinstance(v, (str, bool, int)):
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, (list, tuple)):
        return all(_json_safe(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _json_safe(x) for k, x in v.items())
    return False


def _survives_pandas(df: pd.DataFrame) -> None:
    bad = {k: type(v).__name__ for k, v in df.attrs.items() if not _json_safe(v)}
    assert not bad, f"attrs that are not JSON-safe: {bad}"
    json.dumps(df.attrs, allow_nan=False)
    buf = io.BytesIO()
    df.to_parquet(buf)
    back = pd.read_parquet(io.BytesIO(buf.getvalue()))
    assert back.shape == df.shape and back.columns.tolist() == df.columns.tolist()
    assert json.loads(json.dumps(back.attrs)) == json.loads(json.dumps(df.attrs))
    assert df.to_csv(index=False).count("\n") >= len(df)
    both = pd.concat([df, df], ignore_index=True)
    assert len(both) == 2 * len(df) and both.attrs == df.attrs
    key = df.columns[0]
    merged = df.merge(df[[key]].drop_duplicates(), on=key, how="left")
    assert len(merged) == len(df) and merged.attrs == df.attrs
    assert df.astype(str).shape == df.shape
    assert df.copy().attrs == df.attrs and df.head(1).attrs == df.attrs


@pytest.mark.parametrize("name", FRAMES)
def test_every_frame_survives_ordinary_pandas(frames, name):
    df = frames.get(name)
    assert isinstance(df, pd.DataFrame) and len(df) > 0, name
    _survives_pandas(df)


@pytest.mark.parametrize("view", list(_VIEWS))
def test_every_report_view_survives_ordinary_pandas(frames, view):
    df = _VIEWS[view](frames.get("read_opportunities_aws_summary" if view == "aws_vs_partner" else "read_mirror"))
    assert isinstance(df, pd.DataFrame) and len(df) > 0, view
    _survives_pandas(df)


def test_views_over_two_snapshots_survive_ordinary_pandas(frames):
    now, then = frames.get("read_mirror"), frames.get("read_mirror_as_of")
    inv = frames.get("read_invitations")
    frames.get("push_decisions")  # the ledger referral_decisions reads
    for df in (
        report.moved(now, then),
        referrals_by_expiry(inv, now=pd.Timestamp(SEED_DAY, tz="UTC")),
        referral_decisions(frames.folder / "decisions", since=pd.Timestamp("2000-01-01", tz="UTC"), invitations=inv),
    ):
        _survives_pandas(df)


# -- to Excel ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n.values[0] if hasattr(n, "values") else n for n in FRAMES])
def test_every_frame_goes_to_excel_through_to_excel(frames, name, tmp_path):
    """pandas refuses the toolkit's aware times in ``to_excel``; ``ot.to_excel`` writes them as Excel date-times in
    UTC with the zone in the header, and every other cell as Excel takes it."""
    df = frames.get(name)
    aware = [
        c
        for c in df.columns
        if isinstance(df[c].dtype, pd.DatetimeTZDtype)
        or (df[c].dtype == object and any(isinstance(v, datetime) and v.tzinfo is not None for v in df[c]))
    ]
    if any(df[c].notna().any() for c in aware):
        with pytest.raises(ValueError, match="timezones"):
            df.to_excel(tmp_path / "pandas.xlsx")
    out = ot.to_excel(df, tmp_path / f"{name}.xlsx")
    ws = openpyxl.load_workbook(out).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == len(df) + 1
    heads = list(rows[0])
    assert heads == [f"{c} (UTC)" if c in aware else str(c) for c in df.columns]
    for c in aware[:3]:
        j = heads.index(f"{c} (UTC)")
        for v, got in zip(df[c], (r[j] for r in rows[1:]), strict=True):
            if pd.isna(v):
                assert got is None
            else:  # Excel keeps a time to the millisecond
                utc = pd.Timestamp(v).tz_convert("UTC").tz_localize(None)
                assert abs(pd.Timestamp(got) - utc) <= pd.Timedelta(milliseconds=1)
