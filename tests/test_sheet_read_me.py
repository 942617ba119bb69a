"""Every workbook of the toolkit says, on its Read me, how to push it back where it came from (issue #31 item 5).

The command names the catalog the rows came from and, for a sandbox, its endpoint: a Sandbox export told to push
with ``--catalog AWS`` (as the pipeline workbook's Read me said) would send its edits to the live pipeline, or fail.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.cli import main
from opptoolkit.sandbox import Sandbox, SandboxConfig

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


@pytest.fixture(scope="module")
def sb():
    with Sandbox(config=SandboxConfig.fast(), leads=True) as s:
        yield s


def read_me(path: Path) -> list[str]:
    return [str(r[0]) for r in openpyxl.load_workbook(path)["Read me"].iter_rows(values_only=True) if r and r[0]]


def commands(path: Path) -> list[str]:
    return [line.strip() for line in read_me(path) if line.strip().startswith("opptoolkit push")]


def test_the_pipeline_read_me_names_the_catalog_and_endpoint_it_was_pulled_from(sb, tmp_path, capsys, monkeypatch):
    out = tmp_path / "pipeline.xlsx"
    pull = ["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--id", "O7000000001"]
    assert main([*pull, "--out", str(out), "--reads-per-second", "1000"]) == 0
    push = f"opptoolkit push pipeline.xlsx --catalog Sandbox --endpoint-url {sb.endpoint_url}"
    assert commands(out) == [f"{push} --dry-run", push]  # each one line, to copy whole
    # the command does what it says: the workbook pushes back to that sandbox (nothing edited: nothing sent)
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main([*push.split()[1:], "--ledger", str(tmp_path / "l"), "--dry-run"]) == 0
    assert "unchanged" in capsys.readouterr().out


def test_write_sheet_names_the_frames_catalog_and_never_a_catalog_it_does_not_know(tmp_path):
    df = pd.DataFrame({"Id": ["O1"], "Catalog": ["Sandbox"], "Project.Title": ["Data lake"]})
    assert commands(ot.write_sheet(df, tmp_path / "a.xlsx"))[-1] == "opptoolkit push a.xlsx --catalog Sandbox"
    mixed = pd.DataFrame({"Id": ["O1", "O2"], "Catalog": ["Sandbox", "AWS"]})
    said = commands(ot.write_sheet(mixed, tmp_path / "b.xlsx"))[-1]
    assert "--catalog AWS" not in said and "--catalog Sandbox" not in said and "<AWS or Sandbox" in said
    given = ot.write_sheet(df, tmp_path / "c.xlsx", catalog="Sandbox", endpoint_url="http://127.0.0.1:9")
    assert commands(given)[-1] == "opptoolkit push c.xlsx --catalog Sandbox --endpoint-url http://127.0.0.1:9"


def test_the_read_me_counts_in_words_that_agree(tmp_path):
    """One opportunity is "1 opportunity", one grey column "1 column is"; no dropdown column, no sentence about one."""
    one = pd.DataFrame({"Id": ["O1"], "Project.Title": ["Data lake"]})  # one grey column: Id
    text = " ".join(read_me(ot.write_sheet(one, tmp_path / "one.xlsx", catalog="Sandbox")))
    assert "An export of 1 AWS Partner Central opportunity," in text
    assert "1 column is set by AWS or names the record" in text
    assert "columns have a dropdown" not in text and "column has a dropdown" not in text
    assert "Where a cell takes several values" in text  # the rest of the sentence stays
    two = one.assign(**{"LifeCycle.Stage": ["Prospect"]})
    text = " ".join(read_me(ot.write_sheet(pd.concat([two, two.assign(Id="O2")]), tmp_path / "two.xlsx")))
    assert "An export of 2 AWS Partner Central opportunities," in text and "1 column has a dropdown" in text
    assert "2 columns are set by AWS or name the record" not in text  # still one grey column


def test_write_workbook_lays_out_another_sheet_to_the_pipelines_standard(tmp_path):
    """The layout other sheets (the triage, the leads) are written with: labels, grey read-only columns and rows,
    dropdowns, a Read me of their own, and a base remembered under a key of several columns."""
    from opptoolkit.schema import output_schema
    from opptoolkit.sheets import read_base_texts, read_texts, write_workbook
    from opptoolkit.sheets._layout import LOCKED_FILL

    schema = output_schema("GetEngagementInvitation")
    df = pd.DataFrame(
        {
            "Decision": ["accept", ""],
            "Status": ["PENDING", "EXPIRED"],
            "Id": ["i-1", "i-2"],
            "Key": ["k", "k"],
            "Token": ["2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"],
        }
    )
    fields = [None, schema.field_for("Status"), schema.field_for("Id"), None, None]
    path = write_workbook(
        df, tmp_path / "other.xlsx", sheet_name="Other", fields=fields,
        labels=["Decision", "Status", "Id", "Key", "Token"], reasons=[None, "set by AWS", "set by AWS", None, None],
        notes=[("What this is", True), ("    opptoolkit push other.xlsx --catalog Sandbox", False)],
        rows_locked=[False, True], lists={"Decision": ["accept", "reject"]}, base=(["Key", "Id"], "Token"),
    )  # fmt: skip
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == ["Other", "Read me"]
    ws = wb["Other"]
    assert [c.value for c in ws[1]] == ["Decision", "Status", "Id", "Key", "Token"]
    grey = LOCKED_FILL
    assert ws.column_dimensions["B"].fill.fgColor.rgb.endswith(grey)  # read-only column
    assert not ws["D2"].fill.fgColor.rgb.endswith(grey) and ws["D3"].fill.fgColor.rgb.endswith(grey)  # locked row
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation if dv.type}
    listed = list(wb["Lists"].iter_rows(values_only=True))
    assert [r[0] for r in listed if r[0]] == ["Decision", "accept", "reject"]
    assert [r[1] for r in listed] == ["Status", *schema.field_for("Status").enum]  # the model's enum
    assert lists["A2"] == "Lists!$A$2:$A$3" and lists["B2"] == "Lists!$B$2:$B$5"
    assert commands(path) == ["opptoolkit push other.xlsx --catalog Sandbox"]
    header, rows = read_base_texts(path)
    assert sorted(rows) == ["k/i-1", "k/i-2"] and rows["k/i-2"][header.index("Status")] == "EXPIRED"
    assert read_texts(path, "Other")["Decision"].tolist() == ["accept", None]
