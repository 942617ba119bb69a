"""The ipywidgets form, headless: widgets from the model, live validation, preview, save."""

from __future__ import annotations

import html
import re

import ipywidgets as w
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.form import OpportunityForm, widget_kind
from opptoolkit.sandbox import Sandbox, SandboxConfig, load_seed
from opptoolkit.sheets import WORK_FIRST

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
    schema = ot.get_schema()
    templates = {schema.field_for(c).path: fw for c, fw in form.fields.items()}
    for f in schema:
        assert f.path in templates, f"no widget for {f.path}"
        fw = templates[f.path]
        assert isinstance(fw.widget, EXPECTED_WIDGET[widget_kind(f)]), f.path
        if f.enum and f.writable and not f.is_list:
            assert set(f.enum) <= set(fw.widget.options), f.path  # only the model's values on offer
        if f.is_list and f.enum:
            assert fw.widget.allowed_tags == list(f.enum)
        if not f.writable:
            assert fw.widget.disabled, f.path
    kinds = {p: widget_kind(schema[p]) for p in ("LifeCycle.Stage", "Customer.Account.Address.CountryCode",
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


def test_action_required_shows_aws_review_above_the_fields_it_asks_about(seed_frame):
    """AWS's reason and comments were in the collapsed read-only section at the bottom (issue #31)."""
    asked = seed_frame[(seed_frame["LifeCycle.ReviewStatus"] == "Action Required")
                       & seed_frame["LifeCycle.ReviewComments"].notna()].iloc[0]  # fmt: skip
    form = OpportunityForm.from_row(asked)
    review = form.banner.value
    assert "class='ot-review'" in review
    assert html.escape(asked["LifeCycle.ReviewComments"]) in review
    assert html.escape(asked["LifeCycle.ReviewStatusReason"]) in review
    assert "Customer website URL" in review and "Target close date" in review and "Project title" not in review
    # the banner stands above the sections, and the sections holding what AWS asks about are open
    assert form.widget.children.index(form.banner) < form.widget.children.index(form.section_box)
    assert form.sections[form.section_of["Customer.Account.WebsiteUrl"]].selected_index == 0
    assert form.sections[form.section_of["Marketing.Source"]].selected_index is None
    # an approved record shows no review box, whatever comments an earlier review left
    approved = seed_frame[seed_frame["LifeCycle.ReviewStatus"] == "Approved"].iloc[0].copy()
    approved["LifeCycle.ReviewComments"] = "an old comment"
    assert "ot-review" not in OpportunityForm.from_row(approved).banner.value


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
        said = form.save()
        assert "someone else changed Project title on Partner Central, and so did you" in said
        assert "CONFLICT" in form.status.value  # the code, as the message's tooltip
        assert form.fields["Project.Title"].get() == "Mine"  # the edit is not lost
        assert sb.record("Sandbox", rec["Id"])["Project"]["Title"] == "Theirs"
        form.reload()
        assert form.fields["Project.Title"].get() == "Theirs"
        form.set("LifeCycle.NextSteps", "Call on Monday")
        assert form.save().startswith("Saved 1 change. This is the record as Partner Central now holds it")
        assert sb.record("Sandbox", rec["Id"])["LifeCycle"]["NextSteps"] == "Call on Monday"
        assert (ot.read_ledger(tmp_path / "l")["status"] == "succeeded").sum() == 1


def test_after_save_the_form_shows_the_record_read_back_with_a_colleagues_change_merged(tmp_path):
    with Sandbox(config=SandboxConfig.fast()) as sb:
        rec = next(r for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission")
        form = ot.edit_opportunity(rec["Id"], "Sandbox", endpoint_url=sb.endpoint_url, ledger=tmp_path / "l")
        before = form.header.value
        form.set("LifeCycle.NextSteps", "Send the proposal")
        sb.edit("Sandbox", rec["Id"], lambda r: r["Project"].update(Title="Their new title"))
        said = form.save()
        stored = sb.record("Sandbox", rec["Id"])
        assert (
            stored["LifeCycle"]["NextSteps"] == "Send the proposal" and stored["Project"]["Title"] == "Their new title"
        )
        assert "Saved 1 change." in said and "someone else changed meanwhile" in said and "Project title" in said
        # the form now shows the stored record: both edits, the new token, the grown history
        assert form.fields["Project.Title"].get() == "Their new title"
        assert form.fields["LifeCycle.NextSteps"].get() == "Send the proposal"
        assert form.base["LastModifiedDate"] == ot.to_frame([stored]).iloc[0]["LastModifiedDate"]
        assert form.header.value != before and "Their new title" in form.header.value
        assert "Send the proposal" in _section_html(form, "Life cycle")  # the next-steps history table
        assert form.changes() == {} and form.save_button.disabled


def _section_html(form: OpportunityForm, title: str) -> str:
    def walk(x):
        if isinstance(x, w.HTML):
            yield x.value
        for c in getattr(x, "children", ()):
            yield from walk(c)

    return "".join(walk(form.sections[title]))


def test_the_header_names_the_opportunity(seed_frame):
    row = _row(seed_frame)
    form = OpportunityForm.from_row(row)
    for col in ("Id", "Customer.Account.CompanyName", "Project.Title", "LifeCycle.Stage", "LifeCycle.ReviewStatus"):
        assert html.escape(str(row[col])) in form.header.value, col
    assert "Last modified" in form.header.value and f"{row['LastModifiedDate']:%Y-%m-%d %H:%M}" in form.header.value


def test_sections_have_human_titles_and_the_commonly_edited_fields_come_first_and_open(seed_frame):
    form = OpportunityForm.from_row(_row(seed_frame))
    titles = list(form.sections)
    assert titles[0] == "Commonly edited" and titles[-1] == "Read-only (set by AWS)"
    assert "Software revenue" in titles and "Life cycle" in titles
    for t in titles:  # words, not the model's names: "SoftwareRevenue", "LifeCycle"
        assert not re.search(r"[a-z][A-Z]", t), t
    assert [t for t, acc in form.sections.items() if acc.selected_index == 0] == ["Commonly edited"]
    # the workbook's WORK_FIRST order (the editable ones), each field shown once
    first = [c for c, s in form.section_of.items() if s == "Commonly edited"]
    assert first == [c for c in WORK_FIRST if c in first] and first[:3] == [
        "Customer.Account.CompanyName", "Project.Title", "LifeCycle.Stage"]  # fmt: skip
    assert "LifeCycle.ReviewStatus" not in first  # AWS sets it: in the header and the read-only part
    assert form.section_of["SoftwareRevenue.DeliveryModel"] == "Software revenue"
    assert form.fields["SoftwareRevenue.DeliveryModel"].label_text == "Delivery model"
    assert form.fields["Customer.Account.Industry"].label_text == "Industry"  # under "Customer"
    for fw in form.fields.values():
        assert "." not in fw.label_text and not re.search(r"[a-z][A-Z]", fw.label_text), fw.label_text


def test_a_problem_opens_its_section_and_save_says_why_it_is_off(seed_frame):
    form = OpportunityForm.from_row(_row(seed_frame))
    assert form.sections["Customer"].selected_index is None
    form.set("Customer.Account.WebsiteUrl", None)
    assert form.sections["Customer"].selected_index == 0
    assert form.sections["Customer"].get_title(0) == "Customer — 1 problem"
    assert form.save_button.disabled
    # beside the button, in plain words, with the code as the tooltip
    assert "Save is off until this problem is fixed" in form.why.value
    assert "Customer website URL is required unless national security is" in form.why.value
    assert "title='REQUIRED_FIELD_MISSING'" in form.why.value
    assert "Customer website URL is required" in form.save_button.tooltip
    assert "title='REQUIRED_FIELD_MISSING'" in form.fields["Customer.Account.WebsiteUrl"].error.value
    form.sections["Customer"].selected_index = None  # the user closes it: an edit that changes no problem
    form.set("Project.Title", "Still a title")  # leaves it closed (no jumping while one types)
    assert form.sections["Customer"].selected_index is None
    form.set("LifeCycle.Stage", "Closed Lost")  # a new problem (no lost reason): every section with one opens
    assert form.sections["Customer"].selected_index == 0 and "these 2 problems are" in form.why.value
    # the rule names the other field as the form does, not by its path (LifeCycle.Stage)
    assert "Closed lost reason is required when stage is &#x27;Closed Lost&#x27;" in form.why.value
    form.set("LifeCycle.Stage", _row(seed_frame)["LifeCycle.Stage"])
    form.set("Customer.Account.WebsiteUrl", "https://example.com")
    assert form.sections["Customer"].get_title(0) == "Customer" and form.why.value == ""
    assert not form.save_button.disabled


def test_read_only_lists_are_tables_without_add_or_remove(seed_frame):
    row = seed_frame[seed_frame["LifeCycle.NextStepsHistory[1].Value"].notna()].iloc[0]
    form = OpportunityForm.from_row(row)
    buttons = [b.description for b in _walk(form.sections["Life cycle"]) if isinstance(b, w.Button)]
    assert buttons == []  # nothing to add to or remove from the next-steps history
    shown = _section_html(form, "Life cycle")
    assert "Next steps history" in shown and html.escape(row["LifeCycle.NextStepsHistory[1].Value"]) in shown
    assert all(form.fields[c].widget.disabled for c in form.fields if "NextStepsHistory" in c)
    everywhere = [b.description for b in _walk(form.section_box) if isinstance(b, w.Button)]
    assert "Add contact" in everywhere and all("history" not in d.lower() for d in everywhere)


def _walk(x):
    yield x
    for c in getattr(x, "children", ()):
        yield from _walk(c)


def test_the_picker_searches_a_frame_and_opens_another_record(seed_frame):
    df = seed_frame.copy()
    form = OpportunityForm.from_row(_row(df), frame=df)
    other = df[df["Id"] != form.base["Id"]].iloc[3]
    form.search.value = other["Customer.Account.CompanyName"].split()[0].lower()
    ids = [v for _, v in form.matches.options]
    assert other["Id"] in ids and len(ids) < len(df)
    assert f"{len(ids)} of {len(df)} opportunities" in form.found.value
    form.search.value = other["Id"]
    assert [v for _, v in form.matches.options] == [other["Id"]]
    form.set("Project.Title", "an edit not saved yet")
    form.matches.value = other["Id"]
    form.open_button.click()
    assert "1 change not saved here" in form.status.value and form.base["Id"] != other["Id"]
    form.open_button.click()  # again: drop it
    assert form.base["Id"] == other["Id"] and form.index == other.name
    assert form.fields["Project.Title"].get() == other["Project.Title"]
    assert html.escape(other["Project.Title"]) in form.header.value
    form.set("LifeCycle.NextSteps", "Opened from the picker")
    form.save()
    assert df.loc[other.name, "LifeCycle.NextSteps"] == "Opened from the picker"


def test_edit_opportunity_picks_from_a_frame_and_keeps_it_in_step(tmp_path):
    with Sandbox(config=SandboxConfig.fast()) as sb:
        df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, summary_only=True, progress=False)
        form = ot.edit_opportunity(None, "Sandbox", endpoint_url=sb.endpoint_url, ledger=tmp_path / "l", pick_from=df)
        assert form.base["Id"] == df["Id"].iloc[0] and len(form.matches.options) == min(len(df), 200)
        target = next(r for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission")
        assert form.open(target["Id"]) == f"Opened {target['Id']}."
        form.set("LifeCycle.NextSteps", "Workspace edit")
        assert form.save().startswith("Saved 1 change.")
        row = df[df["Id"] == target["Id"]].iloc[0]
        assert row["LifeCycle.NextSteps"] == "Workspace edit"  # the report of this frame sees the save
        assert row["LastModifiedDate"] == form.base["LastModifiedDate"]


def test_the_picker_searches_the_mirror_by_title(tmp_path):
    with Sandbox(config=SandboxConfig.fast()) as sb:
        ot.sync_mirror(
            tmp_path / "mirror", "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000
        )
        form = ot.edit_opportunity(None, "Sandbox", endpoint_url=sb.endpoint_url, pick_from=tmp_path / "mirror")
        mirror = ot.read_mirror(tmp_path / "mirror")
        assert form.base["Id"] == mirror["Id"].iloc[0]
        other = mirror.iloc[7]
        form.search.value = other["Project.Title"]  # the mirror holds full records: titles are searchable
        assert other["Id"] in [v for _, v in form.matches.options]
        form.open(other["Id"])
        assert form.fields["Project.Title"].get() == other["Project.Title"]


def test_nothing_to_open_is_said_plainly():
    with Sandbox(config=SandboxConfig.fast()) as sb, pytest.raises(ot.OpptoolkitError, match="nothing to open"):
        ot.edit_opportunity(None, "Sandbox", endpoint_url=sb.endpoint_url)


def test_a_conflict_names_the_result_rows_error_fields_not_words_split_from_its_message(seed_frame):
    form = OpportunityForm.from_row(_row(seed_frame))
    # the runner's message after the merges ran out, and a create's, say no field: split at ":" and "," they
    # named "still conflicting after 3 merges" or "put its Id in this row" as fields someone changed
    for message in ("still conflicting after 3 merges",
                    "an earlier push sent this partner opportunity id with other values: find it, put its Id in this row"):  # fmt: skip
        r = {"status": "conflict", "reason": None, "error_code": "ConflictException", "error_message": message,
             "error_codes": ["ConflictException"], "error_fields": [""], "error_texts": [message]}  # fmt: skip
        said = form.conflict_words(r)
        assert "merges" not in said and "put its Id" not in said
        assert "someone else changed the same fields on Partner Central" in said
    # the fields are the result's own list: a message worded otherwise does not change them
    r = {"status": "conflict", "reason": "CONFLICT", "error_code": None, "error_message": "changed: a, b",
         "error_codes": ["CONFLICT", "CONFLICT"], "error_fields": ["Project.Title", "LifeCycle.NextSteps"],
         "error_texts": ["changed on the server", "changed on the server"]}  # fmt: skip
    assert "someone else changed Project title, Next steps on Partner Central" in form.conflict_words(r)
