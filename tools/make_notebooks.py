"""Write the notebooks (run once; the .ipynb files are committed)."""

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
        "md:Pick an opportunity (an `Approved` one, which is editable) and open the form. Change a field, press "
        "**Preview changes**, then **Save**. Fields the record's `ReviewStatus` does not allow to change are disabled, with the reason.",
        """identifier = os.environ.get("OPPTOOLKIT_ID") or ot.list_opportunities(CATALOG, client=client, review_statuses=["Approved"])[0]["Id"]
form = ot.edit_opportunity(identifier, CATALOG, client=client, ledger=LEDGER)
form""",
        "md:The same form works on a DataFrame row without any API: `OpportunityForm.from_row(df.loc[i], frame=df)`; "
        "Save then writes the edited values back into `df`.",
    ]
)
nbf.write(edit, "notebooks/edit_one_opportunity.ipynb")
