"""The ipywidgets form, headless: widgets from the model, live validation, preview, save."""

from __future__ import annotations

import ipywidgets as w
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.form import OpportunityForm, widget_kind
from opptoolkit.sandbox import Sandbox, SandboxConfig, load_seed

EXPECTED_WIDGET = {"dropdown": w.Dropdown, "combobox": w.Combobox, "tags": w.TagsInput, "date": w.DatePicker,
                   "textarea": w.Textarea, "text": w.Text, "readonly": w.Text}  # fmt: skip


@pytest.fixture(scope="module")
def seed_frame() -> pd.DataFrame:
    """The sandbox seed's Sandbox records (conftest's ``frame`` holds fake records)."""
    return ot.to_frame([r for r in load_seed() if r["Catalog"] == "Sandbox"])


def _row(frame: pd.DataFrame, status: str = "Pending Submission") -> pd.Series:
    # an open deal outside Government (where NationalSecurity waives the website) that the edits below change
    ok = (frame["LifeCycle.ReviewStatus"] == status) & ~frame["LifeCycle.Stage"].isin(["Launched", "Closed Lost"])
    ok &= ~frame["Customer.Account.Industry"].isin(["Government", "Retail"]) & (
        frame["LifeCycle.Stage"] != "Business Validation"
    )
    return frame[ok].iloc[0]


def test_every_writable_field_of_the_model_has_the_right_widget(seed_frame):
    form = OpportunityForm.from_row(_row(seed_frame))
    cat = ot.get_schema()
    templates = {cat.field_for(c).path: fw for c, fw in form.fields.items()}
    for f in cat:
        assert f.path in templates, f"no widget for {f.path}"
        fw = templates[f.path]
        assert isinstance(fw.widget, EXPECTED_WIDGET[widget_kind(f)]), f.path
        if f.enum and f.writable and not f.is_list:
            assert set(f.enum) <= set(fw.widget.options), f.path  # only the model's values on offer
        if f.is_list and f.enum:
            assert fw.widget.allowed_tags == list(f.enum)
        if not f.writable:
            assert fw.widget.disabled, f.path
    kinds = {p: widget_kind(cat[p]) for p in ("LifeCycle.Stage", "Customer.Account.Address.CountryCode",
             "PrimaryNeedsFromAws", "LifeCycle.TargetCloseDate", "Project.CustomerBusinessProblem", "Project.ApnPrograms")}  # fmt: skip
    assert kinds == {"LifeCycle.Stage": "dropdown", "Customer.Account.Address.CountryCode": "combobox",
                     "PrimaryNeedsFromAws": "tags", "LifeCycle.TargetCloseDate": "date",
                     "Project.CustomerBusinessProblem": "textarea", "Project.ApnPrograms": "tags"}  # fmt: skip


VALID = [
    ("Project.Title", "A better title"),
    ("LifeCycle.Stage", "Business Validation"),
    ("Customer.Account.Industry", "retail"),  # typed lower case: normalised
    (
        "PrimaryNeedsFromAws",
        ["Co-Sell - Deal Support", "Co-Sell - Pricing Assistance", "Co-Sell - Business Presentation"],
    ),
    ("LifeCycle.TargetCloseDate", "2030-06-30"),
    ("Project.ExpectedCustomerSpend[0].Amount", "123.45"),
]
INVALID = [
    ("Customer.Account.Industry", "Retial", "INVALID_ENUM_VALUE"),
    ("Project.ExpectedCustomerSpend[0].Amount", "12,5", "INVALID_STRING_FORMAT"),
    ("Project.CustomerBusinessProblem", "too short", "INVALID_STRING_FORMAT"),
    ("Customer.Contacts[0].Email", "not an email", "INVALID_STRING_FORMAT"),
    ("LifeCycle.TargetCloseDate", "2020-01-01", "INVALID_VALUE"),
    ("Customer.Account.WebsiteUrl", None, "REQUIRED_FIELD_MISSING"),
]


@pytest.mark.parametrize(("column", "value"), VALID)
def test_valid_edits_enable_save_and_write_back_into_the_frame(seed_frame, column, value):
    df = seed_frame.copy()
    form = OpportunityForm.from_row(_row(df), frame=df)
    form.set(column, value)
    assert form.problems() == []
    assert not form.save_button.disabled and form.save_button.description == "Save 1 change"
    assert len(form.preview()) == 1 and column in form.preview_out.value
    form.save_button.click()
    assert "Wrote 1 change" in form.status.value
    got = df.loc[form.index, column]
    assert (list(got) if isinstance(got, list) else got) == ("Retail" if value == "retail" else value)


@pytest.mark.parametrize(("column", "value", "code"), INVALID)
def test_invalid_edits_are_flagged_next_to_the_field_and_never_saved(seed_frame, column, value, code):
    df = seed_frame.copy()
    form = OpportunityForm.from_row(_row(df), frame=df)
    before = df.loc[form.index].copy()
    form.set(column, value)
    assert [p.code for p in form.problems()] == [code]
    assert code in form.fields[column].error.value
    assert form.save_button.disabled
    assert "Not saved" in form.save()
    pd.testing.assert_series_equal(df.loc[form.index], before)


def test_fields_the_review_status_locks_are_disabled_with_the_reason(seed_frame):
    form = OpportunityForm.from_row(_row(seed_frame, "Action Required"))
    assert not form.fields["Customer.Account.WebsiteUrl"].widget.disabled
    assert not form.fields["LifeCycle.TargetCloseDate"].widget.disabled
    assert form.fields["Project.Title"].widget.disabled
    assert "Action Required" in form.fields["Project.Title"].error.value
    locked = OpportunityForm.from_row(_row(seed_frame, "Submitted"))
    assert all(fw.widget.disabled for fw in locked.fields.values())
    assert "nothing is editable" in locked.banner.value


def test_lists_of_structures_add_and_remove_up_to_the_model_max(seed_frame):
    df = seed_frame.copy()
    form = OpportunityForm.from_row(_row(df), frame=df)
    sl = ot.get_schema().struct_lists["Project.ExpectedCustomerSpend"]
    for _ in range(sl.max + 2):
        form.add_entry("Project.ExpectedCustomerSpend")
    indexes = {c.split("]")[0] for c in form.fields if c.startswith("Project.ExpectedCustomerSpend[")}
    assert len(indexes) == sl.max and "at most 10" in form.status.value
    form.set("Project.Title", "kept across the rebuild")
    form.add_entry("Customer.Contacts")
    assert form.fields["Project.Title"].get() == "kept across the rebuild"
    form.remove_entry("Customer.Contacts", 0)
    changes = form.changes()
    removed = {c: new for c, (_, new) in changes.items() if c.startswith("Customer.Contacts[0]")}
    assert removed and all(new is None for new in removed.values())  # non-empty: the row had a contact


def test_live_character_count(seed_frame):
    form = OpportunityForm.from_row(_row(seed_frame))
    form.set("Project.CustomerBusinessProblem", "x" * 25)
    assert "25/2000" in form.fields["Project.CustomerBusinessProblem"].count.value


def test_save_through_the_batch_updater_reports_conflicts_in_plain_words(tmp_path):
    with Sandbox(config=SandboxConfig.fast()) as sb:
        rec = next(r for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission")
        form = ot.edit_opportunity(rec["Id"], "Sandbox", endpoint_url=sb.endpoint_url, ledger=tmp_path / "l")
        form.set("Project.Title", "Mine")
        sb.edit("Sandbox", rec["Id"], lambda r: r["Project"].update(Title="Theirs"))
        assert "someone changed the same field" in form.save()
        assert sb.record("Sandbox", rec["Id"])["Project"]["Title"] == "Theirs"
        form.reload()
        assert form.fields["Project.Title"].get() == "Theirs"
        form.set("LifeCycle.NextSteps", "Call on Monday")
        assert form.save().startswith("Saved 1 change(s). LastModifiedDate is now")
        assert sb.record("Sandbox", rec["Id"])["LifeCycle"]["NextSteps"] == "Call on Monday"
        assert (ot.read_ledger(tmp_path / "l")["status"] == "succeeded").sum() == 1
