"""Write the notebooks (the .ipynb files are committed).

``python tools/make_notebooks.py`` writes them all; ``python tools/make_notebooks.py NAME ...`` only those named.
"""

import sys

import nbformat as nbf

CONNECT = '''# ---- Where to connect: the embedded sandbox by default ---------------------------------
# For real AWS: USE_SANDBOX = False, and set PROFILE / REGION (credentials come from the
# standard boto3 chain) and CATALOG ("AWS" for live opportunities, "Sandbox" for AWS's test
# catalog). The IAM actions needed are partnercentral:ListOpportunities, GetOpportunity and,
# to save, UpdateOpportunity.
USE_SANDBOX = True
PROFILE, REGION, CATALOG = None, "us-east-1", "Sandbox"'''

CLIENT = """import os

import boto3

import opptoolkit as ot
from opptoolkit.sandbox import Sandbox

if USE_SANDBOX:
    endpoint = os.environ.get("OPPTOOLKIT_ENDPOINT")  # a sandbox already running, else start one here
    if endpoint is None:
        sandbox = Sandbox().start()
        endpoint = sandbox.endpoint_url
    client = ot.get_client(endpoint_url=endpoint)
else:
    client = ot.get_client(boto3_session=boto3.Session(profile_name=PROFILE, region_name=REGION))
LEDGER = os.environ.get("OPPTOOLKIT_LEDGER", "ledger")"""


def write(notebook, name):
    """Write notebooks/NAME.ipynb, when no name or this one was asked for."""
    if len(sys.argv) == 1 or name in sys.argv[1:]:
        nbf.write(notebook, f"notebooks/{name}.ipynb")


def nb(cells):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    n.cells = [
        nbf.v4.new_markdown_cell(c[1:])
        if c.startswith("#") and c[1] == " " and False
        else (nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbf.v4.new_code_cell(c))
        for c in cells
    ]
    return n


edit = nb(
    [
        "md:# Edit one opportunity\n\nA form generated from the service model: every writable field with the widget its type calls for, "
        "live validation against the same rules the batch updater uses, a preview of the changes, and Save through the "
        "batch updater (so conflicts, three-way merges and the ledger work the same as for a bulk push).",
        CONNECT,
        CLIENT,
        "md:Pick an opportunity (an `Approved` one, which is editable but for the fields AWS locks after approval) and "
        "open the form. Change a field, press **Preview changes**, then **Save**. Fields the record's `ReviewStatus` does "
        "not allow to change are disabled, with the reason.",
        """identifier = os.environ.get("OPPTOOLKIT_ID") or ot.list_opportunities(CATALOG, client=client, review_statuses=["Approved"])[0]["Id"]
form = ot.edit_opportunity(identifier, CATALOG, client=client, ledger=LEDGER)
form""",
        "md:The same form works on a DataFrame row without any API: `OpportunityForm.from_row(df.loc[i], frame=df)`; "
        "Save then writes the edited values back into `df`.",
    ]
)
write(edit, "edit_one_opportunity")

quickstart = nb(
    [
        "md:# Quickstart\n\nPull your pipeline into pandas, look around, change one field, see the plan, push it, and read "
        "the ledger. Runs against the embedded sandbox as it is; the next cell points it at real AWS.",
        CONNECT,
        CLIENT,
        "md:## Pull\n`read_opportunities` lists with the boto3 paginator, then reads each full record (GetOpportunity), "
        "paced to the read quota (10/s). The catalog is always explicit.",
        """df = ot.read_opportunities(CATALOG, client=client, stages=["Qualified", "Technical Validation"])
df.shape""",
        """df.attrs["calls"], df.attrs["failures"]""",
        "md:## Explore\nOne row per opportunity; columns are the API's dotted paths, lists of structures are indexed "
        "(`Customer.Contacts[0].Email`), timestamps are UTC.",
        """df[["Id", "Customer.Account.CompanyName", "LifeCycle.Stage", "LifeCycle.ReviewStatus", "LifeCycle.TargetCloseDate"]].head()""",
        """df["LifeCycle.ReviewStatus"].value_counts()""",
        """ot.report.spend_amounts(df).groupby("currency")["amount"].sum()  # exact Decimals, never mixing currencies""",
        "md:## Edit one field, plan, push\nKeep the frame as exported (`base`) and edit a copy: the plan compares the two. "
        "Only `Approved` and `Pending Submission` opportunities are editable (once `Approved`, AWS locks the title, "
        "country, postal code, industry, website, business problem and your CRM identifier).",
        """base = df.copy()
edited = df.copy()
i = edited.index[edited["LifeCycle.ReviewStatus"] == "Approved"][0]
edited.loc[i, "LifeCycle.NextSteps"] = "Architecture review with the customer's CTO"
plan = ot.plan_updates(edited, CATALOG, base=base)
plan[plan["action"] != "unchanged"]""",
        """result = ot.push_updates(edited, CATALOG, ledger=LEDGER, base=base, client=client)
result[result["status"] != "unchanged"]""",
        "md:## The ledger\nEvery attempt, as Parquet: rerunning the same push skips what succeeded. No customer data in it.",
        """ot.read_ledger(LEDGER).tail()""",
    ]
)
write(quickstart, "quickstart")

bulk = nb(
    [
        "md:# Bulk update from a spreadsheet\n\nExport the pipeline to Excel, edit it there (here: the edits are scripted), "
        "and push the changed rows back. Nothing drifts on the way: text stays text (`NA` is Namibia, `00501` keeps its "
        "zeros), and cells starting with `=`, `+`, `-`, `@` are guarded against formula injection.",
        CONNECT,
        CLIENT,
        """df = ot.read_opportunities(CATALOG, client=client, review_statuses=["Approved", "Pending Submission"])
export = ot.write_sheet(df, "pipeline.xlsx", headers="label")  # friendly headers; dotted paths work too
export""",
        "md:Now open `pipeline.xlsx` in Excel or LibreOffice, edit, save. Delete the columns you do not need: only the "
        "columns left can change. Here a script plays the analyst:",
        """sheet = ot.read_sheet(export)
open_ = ~sheet["LifeCycle.Stage"].isin(["Committed", "Launched", "Closed Lost"])
approved = sheet.index[open_ & (sheet["LifeCycle.ReviewStatus"] == "Approved")]  # each has a solution associated
pending = sheet.index[open_ & (sheet["LifeCycle.ReviewStatus"] == "Pending Submission")]
sheet.loc[approved[0], "LifeCycle.Stage"] = "committed"             # typed by hand: normalised to 'Committed'
sheet.loc[approved[1], "LifeCycle.NextSteps"] = "=SUM(A1)? no: a plain note"
sheet.loc[pending[0], "Customer.Account.Address.CountryCode"] = "NA"  # Namibia; AWS locks the country once Approved
sheet.loc[pending[1], "Project.ExpectedCustomerSpend[0].Amount"] = "1,200"  # invalid: a thousands separator
edited = ot.write_sheet(sheet[["Id", "LastModifiedDate", "LifeCycle.Stage", "LifeCycle.NextSteps",
                               "Customer.Account.Address.CountryCode", "Project.ExpectedCustomerSpend[0].Amount"]],
                        "pipeline_edited.xlsx")""",
        "md:## Plan\nDecided against the export, so only what the analyst changed is sent. Invalid rows are reported in the "
        "API's own error codes and never sent.",
        """plan = ot.plan_updates(edited, CATALOG, base=export)
plan[plan["action"] != "unchanged"]""",
        "md:## Push\nLatest record + changes, sent with the token of the record it was merged onto; 1 write per second; "
        "a per-row ledger. The same from a shell: `opptoolkit push pipeline_edited.xlsx --catalog Sandbox --base pipeline.xlsx --ledger ledger`.",
        """result = ot.push_updates(edited, CATALOG, ledger=LEDGER, base=export, client=client)
result["status"].value_counts()""",
        """result[~result["status"].isin(["unchanged", "succeeded"])][["Id", "status", "error_code", "error_message"]]""",
        """ot.read_ledger(LEDGER)[["Id", "status", "error_code", "changed_fields", "last_modified_before", "last_modified_after"]].tail(8)""",
    ]
)
write(bulk, "bulk_update_from_spreadsheet")

report = nb(
    [
        "md:# Pipeline report\n\nThe views partner teams review every week, as DataFrames and charts, and as one "
        "self-contained HTML file. `summary_only=True` pulls with ListOpportunities alone (a few calls): enough for "
        "these views; use a full pull or the mirror for next-steps history.",
        CONNECT,
        CLIENT,
        """df = ot.read_opportunities(CATALOG, client=client, summary_only=True)
len(df)""",
        """ot.report.funnel(df)""",
        '''ot.report.funnel(df, fx={"USD": 1, "EUR": 1.08, "GBP": 1.27, "AUD": 0.66, "CAD": 0.73, "CNY": 0.14, "NZD": 0.6, "INR": 0.012},
         to="USD").head(10) if set(ot.report.spend_amounts(df)["currency"]) <= {"USD", "EUR", "GBP", "AUD", "CAD", "CNY", "NZD", "INR"} else "rates missing for some currencies"''',
        """ot.report.by_close_month(df).head()""",
        """ot.report.review_status(df)""",
        """ot.report.needs_action(df).head()""",
        """ot.report.hygiene(df).head(10)""",
        """ot.report.outcomes(df, by="Customer.Account.Industry").head(10)""",
        """from opptoolkit import report
report.plot_funnel(df);""",
        """report.plot_close_months(df);""",
        """views = ot.write_report(df, "report.html", xlsx="report.xlsx")
list(views)""",
    ]
)
write(report, "pipeline_report")

grid = nb(
    [
        "md:# Edit many opportunities in a grid\n\nFilter to the deals you work on, edit them like a spreadsheet, and "
        "see at once what AWS would refuse: each edited row is planned as you type, with the same rules as a push "
        "(`plan_updates`), its problems beside it in words and the cell marked. **Plan** lists what would be sent; "
        "**Push** sends the ready rows through the same ledgered push as everywhere else and colours each row by its "
        "outcome. Grey cells are locked by the record's review status (an edit there is undone, with the reason). "
        "Pick a row and **Open in form** for a deep edit; the form's Save shows in the grid.",
        CONNECT,
        CLIENT,
        """df = ot.read_opportunities(CATALOG, client=client, summary_only=True)  # ListOpportunities alone: a few calls
grid = ot.edit_opportunities(df, CATALOG, client=client, ledger=LEDGER)
grid""",
        "md:Everything the grid does with the mouse it also does in code. Here code plays the analyst, so the notebook "
        "runs top to bottom: filter to the qualified deals pending submission, type an amount with a thousands "
        "separator, see the problem, fix it.",
        """grid.filter(stage="Qualified", review_status="Pending Submission")
pending = grid.edited.index[(df["LifeCycle.Stage"] == "Qualified") & (df["LifeCycle.ReviewStatus"] == "Pending Submission")]
row = pending[0]
grid.set(row, "Project.ExpectedCustomerSpend[0].Amount", "1,200")
grid.problems(row), grid.counts()""",
        """grid.set(row, "Project.ExpectedCustomerSpend[0].Amount", "1200")
grid.set(pending[1], "LifeCycle.NextSteps", "Workshop with the customer's architects")
grid.counts()""",
        "md:Once a record is approved AWS keeps its title (an update of it is answered, not applied): the grid refuses the edit "
        "and says why.",
        """approved = grid.edited.index[df["LifeCycle.ReviewStatus"] == "Approved"][0]
try:
    grid.set(approved, "Project.Title", "A new title")
except ot.OpptoolkitError as e:
    print(e)""",
        "md:## Plan, then push\nThe plan is `plan_updates` over the changed rows, against the frame as read; the push "
        "is `push_updates` with the ledger. The result is a frame too.",
        """grid.show_plan()[["row", "Id", "action", "changes"]]""",
        """result = grid.push()
result[["row", "Id", "status", "said"]]""",
        """ot.read_ledger(LEDGER)[["Id", "status", "changed_fields"]].tail(4)""",
    ]
)
write(grid, "edit_in_a_grid")

workspace = nb(
    [
        "md:# Pipeline workspace\n\nOne page for the weekly review. **Edit** picks an opportunity (search by "
        "company, title or Id), edits and saves it; **Edit many** shows the pipeline as a grid that checks each edit "
        "as you type and saves the ready rows; **Report** is the weekly pipeline report of the same opportunities, "
        "kept up to date by each save. The page reads every opportunity in full when it opens (about 30 seconds "
        "for 300 at Partner Central's 10 reads a second), so the report's figures are those of the full records.",
        CONNECT,
        CLIENT,
        """import html
import tempfile
from pathlib import Path

import ipywidgets as w

# the full records (ListOpportunities' summaries lack the next steps, the owner, the spend...): the report's
# figures are the pipeline's own
df = ot.read_opportunities(CATALOG, client=client)
form = ot.edit_opportunity(os.environ.get("OPPTOOLKIT_ID"), CATALOG, client=client, ledger=LEDGER, pick_from=df)
grid = ot.edit_opportunities(df, CATALOG, client=client, ledger=LEDGER)

report_file = Path(tempfile.mkdtemp()) / "report.html"
report_view = w.HTML("<i>Open this tab to draw the report.</i>")
refresh = w.Button(description="Refresh report", icon="refresh")


def draw_report(_=None):
    report_view.value = "<i>Drawing the report…</i>"
    ot.write_report(df, report_file)
    page = html.escape(report_file.read_text(encoding="utf-8"))
    report_view.value = f"<iframe class='ot-report' srcdoc=\\"{page}\\" style='width:100%;height:1400px;border:0'></iframe>"


refresh.on_click(draw_report)
tabs = w.Tab(children=[form.widget, grid.widget, w.VBox([refresh, report_view])], titles=("Edit", "Edit many", "Report"))
tabs.observe(lambda change: draw_report() if change["new"] == 2 else None, names="selected_index")
tabs""",
    ]
)
write(workspace, "pipeline_workspace")

leads = nb(
    [
        "md:# Leads to opportunities\n\nAWS shares leads as well as referrals: a lead is an engagement with a Lead context, "
        "sent to you as a `LeadInvitation`. This notebook reads the leads into a frame (one row each), accepts two, "
        "qualifies them, converts them into opportunities, associates a solution and submits them to AWS, all in one "
        "push through the ledger (each step exactly once, across crashes and reruns); then it checks that AWS is "
        "seeing the opportunities' updates. Runs against the embedded sandbox as it is; the next cell points it at "
        "real AWS.",
        """# ---- Where to connect: the embedded sandbox by default ---------------------------------
# For real AWS: USE_SANDBOX = False, and set PROFILE / REGION and CATALOG. The IAM actions needed
# (README, "Leads"): partnercentral:ListEngagementInvitations, GetEngagementInvitation, ListEngagements,
# GetEngagement, ListOpportunityFromEngagementTasks (read the leads); AcceptEngagementInvitation,
# UpdateEngagementContext, StartOpportunityFromEngagementTask, ListSolutions, AssociateOpportunity,
# GetOpportunity, StartEngagementFromOpportunityTask, ListEngagementFromOpportunityTasks (the push);
# GetSellingSystemSettings, ListResourceSnapshotJobs, GetResourceSnapshotJob,
# ListEngagementResourceAssociations (is AWS seeing my updates?).
USE_SANDBOX = True
PROFILE, REGION, CATALOG = None, "us-east-1", "Sandbox\"""",
        """import os

import boto3

import opptoolkit as ot
from opptoolkit.sandbox import Sandbox

if USE_SANDBOX:
    endpoint = os.environ.get("OPPTOOLKIT_ENDPOINT")  # a sandbox already running, else start one here
    if endpoint is None:
        sandbox = Sandbox(leads=True).start()  # its seed has AWS's leads: new, expiring and expired
        endpoint = sandbox.endpoint_url
    client = ot.get_client(endpoint_url=endpoint)
else:
    client = ot.get_client(boto3_session=boto3.Session(profile_name=PROFILE, region_name=REGION))
conn = ot.connect(CATALOG, client=client)  # one client and one pacer for every call below
LEDGER = os.environ.get("OPPTOOLKIT_LEDGER", "ledger")""",
        "md:## The leads, one row each\n`read_leads` reads the lead invitations and the engagements you accepted: "
        "a lead not yet accepted shows what its invitation shows (the customer, the interaction's source); once "
        "accepted, its Lead context (the contact too). Every member is a column of the model's `LeadContext`; "
        "`Interaction.*` is the latest interaction.",
        """leads = ot.read_leads(conn)
view = ["InvitationStatus", "DaysToExpiry", "Customer.CompanyName", "Customer.Industry", "Interaction.SourceName",
        "Interaction.Usecase", "QualificationStatus", "OpportunityId"]
leads[view]""",
        "md:## Accept, qualify, convert, submit\nWrite what each row should do: `Decision` accept (or reject with a "
        "`RejectionReason`), a `QualificationStatus`, `Convert` yes, the `Solutions` to associate and `Submit` with "
        'an involvement type. (`ot.write_leads(leads, "leads.xlsx")` gives the same columns as a workbook with '
        "dropdowns; `opptoolkit push leads.xlsx` sends it.) The push compares with the leads as read (`base=`), so "
        "only what you wrote is sent.",
        """solution = ot.read_solutions(CATALOG, client=client, status=["Active"])["Id"].iloc[0]
edited = leads.copy()
soonest = edited.index[edited["InvitationStatus"] == "PENDING"][:2]
edited.loc[soonest, ["Decision", "QualificationStatus", "Convert", "Solutions", "Submit"]] = [
    "accept", "Qualified", "yes", solution, "Co-Sell"]
edited.loc[soonest, view]""",
        """result = ot.push_leads(edited, conn, base=leads, ledger=LEDGER)
result[["row", "operation", "status", "OpportunityId", "error_code"]]""",
        "md:Push again: the ledger and the service know every step, so nothing is sent twice.",
        """again = ot.push_leads(edited, conn, base=leads, ledger=LEDGER)
again["status"].value_counts()""",
        "md:## The new opportunities\nSubmitted to AWS, with the lead's customer and the solution.",
        """new_ids = sorted(result["OpportunityId"].dropna().unique())
opps = ot.read_opportunities(conn, identifiers=new_ids)
opps[["Id", "Customer.Account.CompanyName", "LifeCycle.ReviewStatus", "RelatedEntityIdentifiers.Solutions"]]""",
        "md:## Is AWS seeing my updates?\nA submitted opportunity is shared with AWS through an engagement: a "
        "*snapshot job* keeps AWS's copy current, run with the IAM role the selling-system settings name. "
        "`snapshot_health` says, per shared opportunity, whether AWS sees its latest change, and what to do when "
        "not (`opptoolkit snapshots` prints the same).",
        """from opptoolkit.engagements import snapshot_health

health = snapshot_health(conn)
health[["Id", "JobStatus", "LastSuccessfulExecutionDate", "LastModifiedDate", "aws_sees_latest", "problem", "action"]]""",
        """engagements = ot.read_engagements(conn)
engagements[["Id", "Title", "Contexts[0].Type", "MemberCount", "ResourceAssociations[0].ResourceId"]]""",
        """if USE_SANDBOX and os.environ.get("OPPTOOLKIT_ENDPOINT") is None:
    sandbox.stop()""",
    ]
)
write(leads, "leads_to_opportunities")
