"""The grid's kernel side: layout from the workbook, editors from the model, locks from the rules, each edit
planned as the push plans it, Plan and Push through the public verbs, the form's save shown in the grid."""

from __future__ import annotations

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit import fields as P
from opptoolkit.grid import CHECK, LOCKED_FILL, PROBLEMS, OpportunityGrid, grid_columns
from opptoolkit.rules import editable_fields
from opptoolkit.sandbox import SEED_DAY, load_seed
from opptoolkit.schema import label_for
from opptoolkit.sheets import WORK_FIRST, choices

AMOUNT = "Project.ExpectedCustomerSpend[0].Amount"


@pytest.fixture(scope="module")
def seed() -> pd.DataFrame:
    return ot.to_frame(load_seed())


def _first(df: pd.DataFrame, status: str) -> int:
    return int(df.index[df[P.REVIEW_STATUS] == status][0])


def test_the_columns_follow_the_workbook_with_the_grids_own_beside_the_id(seed):
    grid = OpportunityGrid(seed, "Sandbox", today=SEED_DAY)
    first = [c for c in WORK_FIRST if c in seed.columns]
    assert grid.columns[: len(first)] == first
    assert set(grid.columns) == set(seed.columns)
    assert grid.order[:3] == ["Id", CHECK, PROBLEMS]
    assert grid.order[3:] == [label_for(c) for c in grid.columns[1:]]
    assert grid_columns(seed.columns, [P.STAGE]) == ["Id", P.STAGE, P.REVIEW_STATUS, "LastModifiedDate"]


def test_enum_columns_get_the_models_values_and_dates_a_date_editor(seed):
    grid = OpportunityGrid(seed, "Sandbox", today=SEED_DAY)
    fields = {f["name"]: f for f in grid.grid._data["schema"]["fields"]}
    stage = fields[label_for(P.STAGE)]
    assert stage["constraint"]["enum"] == ["", *choices(ot.get_schema()[P.STAGE])]
    assert fields[label_for(P.TARGET_CLOSE)]["type"] == "date"
    assert "constraint" not in fields[label_for(P.REVIEW_STATUS)]  # AWS sets it: no editor offered
    assert grid.grid.renderers[label_for(AMOUNT)].horizontal_alignment == "right"
    assert grid.grid.renderers[label_for(P.TITLE)].horizontal_alignment == "left"
    # only an amount is a number: a website's pattern takes "10.5" too, and it is text
    assert grid.grid.renderers[label_for(P.WEBSITE)].horizontal_alignment == "left"


def test_locked_cells_are_grey_by_the_rules_and_refuse_the_edit_with_the_reason(seed):
    grid = OpportunityGrid(seed, "Sandbox", today=SEED_DAY)
    colour = grid.grid.renderers[label_for(P.STAGE)].background_color.value
    locked = [s for s in ot.get_schema()[P.REVIEW_STATUS].enum if editable_fields(s, [P.STAGE])[P.STAGE]]
    assert LOCKED_FILL in colour and all(f"'{s}'" in colour for s in locked)
    assert "'Approved'" not in colour.split("?")[0]  # an approved record's stage stays editable
    assert grid.grid.renderers[label_for("Arn")].background_color.value.endswith(f"'{LOCKED_FILL}')))")
    row = _first(seed, "Approved")
    with pytest.raises(ot.OpptoolkitError, match=rf"row {row}, Project title: not editable: .*Approved"):
        grid.set(row, P.TITLE, "A new title")
    assert grid.edited.at[row, P.TITLE] == seed.at[row, P.TITLE]
    assert grid.counts() == {"changed": 0, "ready": 0, "problems": 0}


def test_each_edit_is_planned_as_the_push_plans_it(seed):
    grid = OpportunityGrid(seed, "Sandbox", today=SEED_DAY)
    row = _first(seed, "Pending Submission")
    grid.set(row, AMOUNT, "1,200")
    assert grid.counts() == {"changed": 1, "ready": 0, "problems": 1}
    [said] = grid.problems(row)
    assert said.startswith("Expected spend 1 amount must be a number") and "thousands separator" in said
    assert grid.grid.get_cell_value_by_index(PROBLEMS, grid._at[row]) == said
    assert grid.grid.get_cell_value_by_index(CHECK, grid._at[row]) == "problems"
    ident = seed.at[row, "Id"]
    assert f"'{ident}'" in grid.grid.renderers[label_for(AMOUNT)].background_color.value  # the cell marked
    # the same verdict as plan_updates over the same edit
    plan = ot.plan_updates(grid.edited.loc[[row]], "Sandbox", base=seed.loc[[row]], today=SEED_DAY)
    assert plan["action"].tolist() == ["invalid"] and plan["error_codes"].tolist() == [["INVALID_STRING_FORMAT"]]
    grid.set(row, AMOUNT, "1200")
    assert grid.problems(row) == [] and grid.counts() == {"changed": 1, "ready": 1, "problems": 0}
    assert f"'{ident}'" not in grid.grid.renderers[label_for(AMOUNT)].background_color.value
    grid.set(row, AMOUNT, seed.at[row, AMOUNT])  # back as exported: no change left
    assert grid.counts() == {"changed": 0, "ready": 0, "problems": 0}


def test_an_edit_typed_in_the_browser_is_planned_and_a_locked_one_undone(seed):
    grid = OpportunityGrid(seed, "Sandbox", today=SEED_DAY)
    row = _first(seed, "Pending Submission")
    pos = grid._at[row]
    grid._on_cell_change({"row": pos, "column": label_for(P.STAGE), "column_index": 5, "value": "Prospekt"})
    assert grid.edited.at[row, P.STAGE] == "Prospekt" and "did you mean 'Prospect'" in grid.problems(row)[0]
    locked = _first(seed, "Submitted")
    grid._on_cell_change(
        {"row": grid._at[locked], "column": label_for(P.STAGE), "column_index": 5, "value": "Qualified"}
    )
    assert grid.edited.at[locked, P.STAGE] == seed.at[locked, P.STAGE]
    assert grid.grid.get_cell_value_by_index(label_for(P.STAGE), grid._at[locked]) == seed.at[locked, P.STAGE]
    assert "not editable" in grid.message.value and "Submitted" in grid.message.value


def test_filters_are_the_grids_transforms_and_count_the_rows(seed):
    grid = OpportunityGrid(seed, "Sandbox", today=SEED_DAY)
    n = grid.filter(stage="Qualified", review_status="Approved")
    expected = ((seed[P.STAGE] == "Qualified") & (seed[P.REVIEW_STATUS] == "Approved")).sum()
    assert n == expected > 0
    assert {(t["column"], tuple(t["value"])) for t in grid.grid._transforms} == {
        ("Stage", ("Qualified",)),
        ("Review status", ("Approved",)),
    }
    ident = seed.at[3, "Id"]
    assert grid.filter(stage="", review_status="", text=ident.lower()) == 1
    assert grid.filter(text="", close_from="2000-01-01", close_to="2999-12-31") == seed[P.TARGET_CLOSE].notna().sum()


def test_plan_and_push_through_the_ledger_colour_each_row_and_return_a_frame(sb, tmp_path):
    client = sb.client()
    df = ot.read_opportunities("Sandbox", client=client, summary_only=True, progress=False)
    grid = ot.edit_opportunities(df, "Sandbox", client=client, ledger=tmp_path / "ledger")
    pending = df.index[df[P.REVIEW_STATUS] == "Pending Submission"]
    grid.set(pending[0], P.NEXT_STEPS, "Workshop with the architects")
    grid.set(pending[1], AMOUNT, "1,200")  # not sent
    plan = grid.show_plan()
    assert plan["action"].tolist() == ["update", "invalid"]
    assert "Next steps: " in grid.details.value and "is invalid: not sent" in grid.details.value
    # meanwhile a colleague changes the first record: the push merges, and says so
    ident = df.at[pending[0], "Id"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Renamed by a colleague"))
    result = grid.push()
    assert result[["Id", "status"]].values.tolist() == [[ident, "succeeded"]]
    assert "merged" in result["said"].iloc[0]
    stored = sb.record("Sandbox", ident)
    assert stored["LifeCycle"]["NextSteps"] == "Workshop with the architects"
    assert stored["Project"]["Title"] == "Renamed by a colleague"
    assert grid.grid.get_cell_value_by_index(CHECK, grid._at[pending[0]]) == "succeeded"
    assert grid.counts() == {"changed": 1, "ready": 0, "problems": 1}  # the invalid row waits for a fix
    assert ot.read_ledger(tmp_path / "ledger")["status"].tolist() == ["in_flight", "succeeded"]
    # the next edit of the pushed row is planned against the record as pushed
    grid.set(pending[0], P.NEXT_STEPS, "Workshop with the architects")
    assert grid.counts()["ready"] == 0


def test_the_forms_save_shows_in_the_grid(sb, tmp_path):
    client = sb.client()
    df = ot.read_opportunities("Sandbox", client=client, summary_only=True, progress=False)
    grid = ot.edit_opportunities(df, "Sandbox", client=client, ledger=tmp_path / "ledger")
    row = int(df.index[df[P.REVIEW_STATUS] == "Pending Submission"][0])
    grid._on_cell_click({"region": "body", "row": 0, "primary_key_row": grid._at[row], "column": "Id",
                         "column_index": 0, "cell_value": df.at[row, "Id"]})  # fmt: skip
    assert not grid.open_button.disabled
    form = grid.open_form()
    form.set(P.NEXT_STEPS, "Saved from the form")
    assert form.save().startswith("Saved 1 change")
    assert grid.edited.at[row, P.NEXT_STEPS] == "Saved from the form"
    assert grid.grid.get_cell_value_by_index(label_for(P.NEXT_STEPS), grid._at[row]) == "Saved from the form"
    assert grid.grid.get_cell_value_by_index(CHECK, grid._at[row]) == "succeeded"


def test_a_conflict_names_the_result_rows_error_fields_not_words_split_from_its_message(seed):
    grid = OpportunityGrid(seed, "Sandbox", today=SEED_DAY)
    message = "an earlier push sent this partner opportunity id with other values: find it, put its Id in this row"
    r = {"status": "conflict", "reason": None, "error_code": "ConflictException", "error_message": message,
         "error_codes": ["ConflictException"], "error_fields": [""], "error_texts": [message]}  # fmt: skip
    said = grid._outcome_words(0, r)
    assert "put its Id" not in said and "someone changed the same fields on Partner Central" in said
    r = {"status": "conflict", "reason": "CONFLICT", "error_code": None, "error_message": "changed: a, b",
         "error_codes": ["CONFLICT", "CONFLICT"], "error_fields": [P.TITLE, P.NEXT_STEPS],
         "error_texts": ["changed on the server", "changed on the server"]}  # fmt: skip
    said = grid._outcome_words(0, r)
    assert f"someone changed {label_for(P.TITLE)}, {label_for(P.NEXT_STEPS)} on Partner Central" in said


def _sent_to_the_browser(grid: OpportunityGrid, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Record the messages the grid's widget sends its browser end from now on (its comm's, as published)."""
    sent: list[dict] = []
    publish = grid.grid.comm.publish_msg

    def record(msg_type, data=None, metadata=None, buffers=None, **keys):
        sent.append(data)
        return publish(msg_type, data, metadata, buffers, **keys)

    monkeypatch.setattr(grid.grid.comm, "publish_msg", record)
    return sent


def _typed(grid: OpportunityGrid, row: int, column: str, value: str) -> None:
    """A cell typed into in the browser: the message ipydatagrid's front end sends the kernel for it."""
    content = {"event_type": "cell-changed", "region": "body", "row": grid._at[row],
               "column_index": grid.grid._column_name_to_index(label_for(column)), "value": value}  # fmt: skip
    grid.grid._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def test_an_edit_is_answered_with_its_row_once_and_nothing_the_browser_shows(seed, monkeypatch):
    # each cell or row sent makes ipydatagrid's front end rebuild its view and redraw the grid, and send each
    # cell back as an edit: an edit's answer is its row, once; a cell the browser already shows is not sent
    grid = OpportunityGrid(seed, "Sandbox", today=SEED_DAY)
    row = _first(seed, "Pending Submission")
    sent = _sent_to_the_browser(grid, monkeypatch)
    columns = grid.grid._get_col_headers(grid.grid._data)

    _typed(grid, row, AMOUNT, "1,200")
    [answer] = sent
    assert answer["content"]["event_type"] == "row-changed" and answer["content"]["row"] == grid._at[row]
    shown = dict(zip(columns, answer["content"]["value"], strict=True))
    assert shown[CHECK] == "problems" and shown[PROBLEMS] == grid.problems(row)[0]
    assert shown[label_for(AMOUNT)] == "1,200"
    assert shown == {c: grid.grid.get_cell_value_by_index(c, grid._at[row]) for c in columns}

    sent.clear()
    _typed(grid, row, AMOUNT, "1200")
    [answer] = sent
    shown = dict(zip(columns, answer["content"]["value"], strict=True))
    assert (shown[CHECK], shown[PROBLEMS]) == ("ready", "")
    sent.clear()
    _typed(grid, row, AMOUNT, "1300")  # still ready: what the browser shows is the answer
    assert sent == [] and grid.counts() == {"changed": 1, "ready": 1, "problems": 0}
    _typed(grid, row, CHECK, "mine")  # the grid's own column: put back as it was
    [answer] = sent
    assert dict(zip(columns, answer["content"]["value"], strict=True))[CHECK] == "ready"


def test_a_push_answers_each_row_pushed_with_the_row_once(sb, tmp_path, monkeypatch):
    client = sb.client()
    df = ot.read_opportunities("Sandbox", client=client, summary_only=True, progress=False)
    grid = ot.edit_opportunities(df, "Sandbox", client=client, ledger=tmp_path / "ledger")
    row = int(df.index[df[P.REVIEW_STATUS] == "Pending Submission"][0])
    _typed(grid, row, P.NEXT_STEPS, "Workshop with the architects")
    sent = _sent_to_the_browser(grid, monkeypatch)
    assert grid.push()["status"].tolist() == ["succeeded"]
    [answer] = sent  # the record as read back: its new modified date, Check and Problems
    assert answer["content"]["event_type"] == "row-changed" and answer["content"]["row"] == grid._at[row]
    assert grid.grid.get_cell_value_by_index(CHECK, grid._at[row]) == "succeeded"
