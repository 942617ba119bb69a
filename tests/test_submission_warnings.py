"""What the guide asks of a submission that AWS takes without reaches the analyst: real boto3 over HTTP."""

from __future__ import annotations

from opptoolkit.partner import submit_opportunities
from opptoolkit.rules import submission_problems, submission_warnings
from opptoolkit.sandbox import Sandbox

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


def _draft(sb: Sandbox, *, fields: list[str]) -> str:
    """A draft AWS takes whose submission_warnings name exactly ``fields``."""
    return next(
        r["Id"] for r in sb.records("Sandbox")
        if r["LifeCycle"]["ReviewStatus"] == "Pending Submission" and not submission_problems(r)
        and [p.field for p in submission_warnings(r)] == fields
    )  # fmt: skip


def test_a_submission_the_guide_warns_of_is_sent_and_its_result_says_why(sb, tmp_path):
    # no solution and a Prospect stage: AWS was recorded submitting such a one (rules.submission_warnings)
    warned = _draft(sb, fields=["RelatedEntityIdentifiers.Solutions", "LifeCycle.Stage"])
    clean = next(
        r["Id"] for r in sb.records("Sandbox")
        if r["LifeCycle"]["ReviewStatus"] == "Pending Submission" and not submission_problems(r)
        and not submission_warnings(r)
    )  # fmt: skip
    out = submit_opportunities([warned, clean], "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                               endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert out["status"].tolist() == ["succeeded", "succeeded"]  # said, not refused
    assert sb.service.calls["StartEngagementFromOpportunityTask"] == 2
    first, second = out["warnings"].tolist()
    assert [w.split(":")[:2] for w in first] == [
        ["RelatedEntityIdentifiers.Solutions", " REQUIRED_FIELD_MISSING"],
        ["LifeCycle.Stage", " INVALID_VALUE"],
    ]
    assert "no solution is associated" in first[0] and "'Qualified'" in first[1]
    assert second == []
    assert out.columns.get_loc("warnings") == out.columns.get_loc("error_message") + 1


def test_a_dry_run_and_a_refused_row_carry_the_warnings_too(sb, tmp_path):
    warned = _draft(sb, fields=["RelatedEntityIdentifiers.Solutions"])
    out = submit_opportunities([warned], "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                               endpoint_url=sb.endpoint_url, dry_run=True, **FAST)  # fmt: skip
    assert [w.split(":")[0] for w in out["warnings"][0]] == ["RelatedEntityIdentifiers.Solutions"]
    assert "StartEngagementFromOpportunityTask" not in sb.service.calls
    refused = submit_opportunities([warned], "Sandbox", involvement_type="Co-sell", ledger=tmp_path / "l",
                                   endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert refused["status"].tolist() == ["invalid"]  # the model's enum: refused, and the warning still said
    assert [w.split(":")[0] for w in refused["warnings"][0]] == ["RelatedEntityIdentifiers.Solutions"]


def test_cli_submit_prints_each_warning_under_its_row(sb, tmp_path, capsys):
    from opptoolkit.cli import main

    warned = _draft(sb, fields=["RelatedEntityIdentifiers.Solutions"])
    code = main(["submit", warned, "--catalog", "Sandbox", "--involvement-type", "Co-Sell",
                 "--ledger", str(tmp_path / "l"), "--endpoint-url", sb.endpoint_url])  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    row = next(n for n, line in enumerate(lines) if f" {warned} [succeeded]" in line)
    assert (
        lines[row + 1].startswith("    warning: Related solutions: ") and "(REQUIRED_FIELD_MISSING)" in lines[row + 1]
    )
